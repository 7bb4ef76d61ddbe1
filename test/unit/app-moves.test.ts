import { describe, expect, it } from "vitest";
import { renamedTag } from "../../src/builder/app-rename.js";
import { imageProcessTypes, parseImageRef } from "../../src/builder/image-release.js";
import { BuildFailed, PaasError } from "../../src/errors.js";
import { Keys } from "../../src/store/keys.js";
import { indexKeys, perAppKeys } from "../../src/store/rename.js";

// The pure parts of apps:rename and deploy:image.

describe("renamedTag", () => {
  it("moves the app's release and dependency-layer repos, nothing else", () => {
    expect(renamedTag("paas/old:v3", "paas", "old", "new")).toBe("paas/new:v3");
    expect(renamedTag("paas/old-deps:abc123", "paas", "old", "new")).toBe("paas/new-deps:abc123");
    expect(renamedTag("paas/older:v1", "paas", "old", "new")).toBeNull();
    expect(renamedTag("other/old:v1", "paas", "old", "new")).toBeNull();
    expect(renamedTag("localhost:5000/paas/old:v1", "paas", "old", "new")).toBeNull();
  });
});

describe("rename: which Redis keys move", () => {
  const keys = new Keys("ns");
  it("every per-app key, but not per-build ones or the lock", () => {
    const moved = perAppKeys(keys, "old", "new");
    const froms = moved.map(([a]) => a);
    for (const k of [
      keys.app("old"),
      keys.config("old"),
      keys.releases("old"),
      keys.formation("old"),
      keys.route("old"),
    ]) {
      expect(froms).toContain(k);
    }
    expect(moved).toContainEqual([keys.domains("old"), keys.domains("new")]);
    expect(froms).not.toContain(keys.lock("old"));
    expect(froms).not.toContain(keys.build("old"));
    expect(froms.every((k) => k.endsWith(":old"))).toBe(true);
  });
  it("checks the app indexes (apps, routes, domain owners) but not channels", () => {
    const idx = indexKeys(keys);
    expect(idx).toEqual(expect.arrayContaining([keys.apps(), keys.routeApps(), keys.domainOwners()]));
    expect(idx).not.toContain(keys.routeChannel());
    expect(idx).not.toContain(keys.bullPrefix());
  });
});

describe("deploy:image", () => {
  it("accepts image references and refuses anything else with a 400", () => {
    expect(parseImageRef(" myapp:1.0 ")).toBe("myapp:1.0");
    expect(parseImageRef("sha256:abc")).toBe("sha256:abc");
    expect(parseImageRef("host:5000/team/app@sha256:abc")).toBe("host:5000/team/app@sha256:abc");
    for (const bad of ["", "not an image", "-rm", 42, undefined]) {
      expect(() => parseImageRef(bad)).toThrow(PaasError);
    }
  });

  it("takes process types from the JSON label, a Procfile label, else CMD as web", () => {
    expect(
      imageProcessTypes({
        Labels: { "paas.process-types": '{"web":"npm start","worker":"node w.js"}' },
        Cmd: [],
        Entrypoint: [],
      }),
    ).toEqual({
      web: "npm start",
      worker: "node w.js",
    });
    expect(
      imageProcessTypes({
        Labels: { "paas.procfile": "web: ./serve\nclock: ./tick" },
        Cmd: ["sh"],
        Entrypoint: null as unknown as string[],
      }),
    ).toEqual({
      web: "./serve",
      clock: "./tick",
    });
    expect(
      imageProcessTypes({ Labels: {}, Cmd: ["httpd"], Entrypoint: null as unknown as string[] }),
    ).toEqual({ web: "" });
    expect(() => imageProcessTypes({ Labels: {}, Cmd: [], Entrypoint: [] })).toThrow(BuildFailed);
    expect(() =>
      imageProcessTypes({ Labels: { "paas.process-types": "{nope" }, Cmd: ["x"], Entrypoint: [] }),
    ).toThrow(/not JSON/);
  });
});
