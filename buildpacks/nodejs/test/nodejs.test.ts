import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { appDir, node, runBin } from "./helpers.js";

const require = createRequire(import.meta.url);
const PKG = path.resolve(import.meta.dirname, "../lib/pkg.cjs");
const { satisfies, maxSatisfying } = require(PKG) as {
  satisfies: (v: string, r: string) => boolean;
  maxSatisfying: (vs: string[], r: string) => string | null;
};

describe("nodejs bin/detect", () => {
  it("detects package.json", () => {
    const r = runBin("nodejs", "detect", [appDir({ "package.json": "{}" })]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("Node.js");
  });
  it("rejects apps without package.json", () => {
    expect(runBin("nodejs", "detect", [appDir({ "index.js": "" })]).code).toBe(1);
  });
});

describe("nodejs bin/release", () => {
  it("defaults web to npm start", () => {
    const r = runBin("nodejs", "release", [appDir({ "package.json": "{}" })]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("default_process_types:\n  web: npm start");
  });
});

describe("engines.node ranges (lib/pkg.cjs)", () => {
  it.each([
    ["18.20.4", ">=18", true],
    ["18.20.4", "18.x", true],
    ["18.20.4", "^18.0.0", true],
    ["18.20.4", "~18.20.0", true],
    ["18.20.4", "~18.19.0", false],
    ["18.20.4", "20.x", false],
    ["18.20.4", ">=20 <23", false],
    ["20.11.1", ">=18 <21", true],
    ["18.20.4", "16 || 18", true],
    ["18.20.4", "16.0.0 - 18.1", false],
    ["18.0.5", "16.0.0 - 18.1", true],
    ["18.20.4", "*", true],
    ["18.20.4", "", true],
    ["18.20.4", "18", true],
    ["18.20.4", ">18", false],
    ["19.0.0", ">18", true],
    ["18.20.4", "<=18.20", true],
    ["0.2.3", "^0.2.1", true],
    ["0.3.0", "^0.2.1", false],
    ["20.0.0-rc.1", ">=18", false],
  ])("%s satisfies %j: %s", (version, range, expected) => {
    expect(satisfies(version, range)).toBe(expected);
  });

  it("picks the highest matching version regardless of order", () => {
    expect(maxSatisfying(["20.9.0", "20.18.1", "20.10.0", "22.1.0"], "20.x")).toBe("20.18.1");
    expect(maxSatisfying(["16.0.0"], ">=18")).toBeNull();
  });

  it("works as a CLI for bin/compile", () => {
    const dir = appDir({ "package.json": JSON.stringify({ engines: { node: "20.x" }, scripts: { build: "x" } }) });
    expect(node([PKG, "get", dir, "engines.node"]).stdout.trim()).toBe("20.x");
    expect(node([PKG, "get", dir, "engines.npm"]).stdout).toBe("");
    expect(node([PKG, "has-script", dir, "build"]).code).toBe(0);
    expect(node([PKG, "has-script", dir, "heroku-postbuild"]).code).toBe(1);
    expect(node([PKG, "satisfies", "18.20.4", "20.x"]).code).toBe(1);
    expect(node([PKG, "max-satisfying", "20.x"], '["20.1.0","20.3.0"]').stdout.trim()).toBe("20.3.0");
    expect(node([PKG, "max-satisfying", "20.x"], '"20.1.0"').stdout.trim()).toBe("20.1.0");
  });
});
