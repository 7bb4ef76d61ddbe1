import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { vendorFingerprint } from "../../../src/builder/buildpacks/slug.js";

// The dependency layer is reused exactly when this fingerprint is equal.

describe("vendorFingerprint", () => {
  const dirs: string[] = [];
  const slug = (files: Record<string, string>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-fp-"));
    dirs.push(dir);
    for (const [name, body] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), body);
    }
    return dir;
  };
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("is equal for equal vendor folders (as a restored cache keeps mtimes), whatever else the slug holds", async () => {
    const a = slug({ "node_modules/x/index.js": "1", "server.js": "a" });
    const b = slug({ "node_modules/x/index.js": "1", "server.js": "b" });
    const when = new Date("2026-01-01T00:00:00Z");
    for (const d of [a, b]) fs.utimesSync(path.join(d, "node_modules/x/index.js"), when, when);
    expect(await vendorFingerprint(a, ["node_modules"], "run1")).toBe(
      await vendorFingerprint(b, ["node_modules"], "run1"),
    );
  });

  // (A same-size rewrite within the same millisecond is not seen: installs write new files.)
  it("changes with a file's size or mtime, a new file, or the run stack", async () => {
    const base = await vendorFingerprint(slug({ "node_modules/x/index.js": "1" }), ["node_modules"], "run1");
    const content = await vendorFingerprint(
      slug({ "node_modules/x/index.js": "22" }),
      ["node_modules"],
      "run1",
    );
    const added = await vendorFingerprint(
      slug({ "node_modules/x/index.js": "1", "node_modules/y/index.js": "" }),
      ["node_modules"],
      "run1",
    );
    const stack = await vendorFingerprint(slug({ "node_modules/x/index.js": "1" }), ["node_modules"], "run2");
    expect(new Set([base, content, added, stack]).size).toBe(4);
  });
});
