import { describe, expect, it } from "vitest";
import { shellEnv, splitImageRef } from "../../src/runtime/predeploy.js";

// The predeploy container gets config vars on stdin as shell assignments (never in its Env,
// which `docker commit` would keep in the image).

describe("shellEnv", () => {
  it("single-quotes every value, writing ' as '\\''", () => {
    expect(shellEnv({ A: "plain", B: 'it\'s $HOME `x` "q"', C: "" })).toBe(
      "A='plain'\nB='it'\\''s $HOME `x` \"q\"'\nC=''\n",
    );
  });

  it("leaves out names a shell cannot assign", () => {
    expect(shellEnv({ "BAD-NAME": "x", "1X": "y", _OK: "z" })).toBe("_OK='z'\n");
  });
});

describe("splitImageRef", () => {
  it("splits repo and tag, also with a registry port", () => {
    expect(splitImageRef("paas/app:v3")).toEqual({ repo: "paas/app", tag: "v3" });
    expect(splitImageRef("host:5000/ns/app:v1")).toEqual({ repo: "host:5000/ns/app", tag: "v1" });
    expect(splitImageRef("host:5000/ns/app")).toEqual({ repo: "host:5000/ns/app", tag: "latest" });
  });
});
