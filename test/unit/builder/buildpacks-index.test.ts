import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildpacksBuilder,
  listBundledBuildpacks,
  purgeCache,
} from "../../../src/builder/buildpacks/index.js";
import { BUNDLED_DIR } from "../../../src/builder/buildpacks/plan.js";

describe("buildpacks builder API", () => {
  it("is the catch-all builder: detect says yes so build can explain what is missing", async () => {
    expect(buildpacksBuilder.name).toBe("buildpacks");
    expect(await buildpacksBuilder.detect(os.tmpdir())).toBe(true);
  });

  it("lists the bundled buildpacks with what they detect, each present with the v2 scripts", () => {
    const list = listBundledBuildpacks();
    expect(list.map((b) => b.name)).toEqual(["nodejs", "python", "go", "static", "procfile"]);
    for (const b of list) {
      expect(b.detects).not.toBe("");
      for (const script of ["detect", "compile", "release"]) {
        const file = path.join(BUNDLED_DIR, b.name, "bin", script);
        expect(fs.statSync(file).mode & 0o111, file).not.toBe(0);
      }
    }
  });

  it("purgeCache empties the cache dir and tolerates a missing one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bp-cache-"));
    fs.mkdirSync(path.join(dir, "node/node_modules/x"), { recursive: true });
    fs.writeFileSync(path.join(dir, "signature"), "abc");
    await purgeCache(dir);
    expect(fs.readdirSync(dir)).toEqual([]);
    await purgeCache(path.join(dir, "missing"));
  });
});
