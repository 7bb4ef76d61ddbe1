import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { appDir, node } from "./helpers.js";

const PKG = path.resolve(import.meta.dirname, "../lib/pkg.cjs");

function info(pkg: unknown): Record<string, string> {
  const dir = appDir({ "package.json": typeof pkg === "string" ? pkg : JSON.stringify(pkg) });
  const out: Record<string, string> = {};
  for (const line of node([PKG, "info", dir]).stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

describe("pkg.cjs info", () => {
  it("reports what bin/compile needs in one go", () => {
    const facts = info({
      engines: { node: ">=18 <99" },
      packageManager: "pnpm@9.1.0",
      scripts: { build: "tsc", "heroku-postbuild": "" },
      devDependencies: { typescript: "5" },
    });
    expect(facts).toMatchObject({
      valid: "1",
      engines_node: ">=18 <99",
      stack_satisfies: "1",
      package_manager: "pnpm@9.1.0",
      has_build: "1",
      has_heroku_postbuild: "0",
      has_heroku_prebuild: "0",
      has_dev_dependencies: "1",
      has_dependencies: "1",
    });
    expect(facts.node).toBe(process.versions.node);
  });

  it("flags an engines range the running node does not satisfy, and invalid JSON", () => {
    expect(info({ engines: { node: "0.10.x" } }).stack_satisfies).toBe("0");
    expect(info({}).has_dependencies).toBe("0");
    expect(info("{ nope").valid).toBe("0");
  });
});

describe("pkg.cjs prune-dev", () => {
  it("removes the packages package-lock.json marks dev-only and their .bin links", () => {
    const dir = appDir({
      "package.json": "{}",
      "package-lock.json": JSON.stringify({
        lockfileVersion: 3,
        packages: {
          "": {},
          "node_modules/express": {},
          "node_modules/typescript": { dev: true },
          "node_modules/express/node_modules/debug": { dev: true },
          "node_modules/fsevents": { devOptional: true },
        },
      }),
      "node_modules/express/index.js": "",
      "node_modules/express/node_modules/debug/index.js": "",
      "node_modules/typescript/bin/tsc": "",
      "node_modules/fsevents/index.js": "",
      "node_modules/.package-lock.json": "{}",
    });
    fs.mkdirSync(path.join(dir, "node_modules/.bin"));
    fs.symlinkSync("../typescript/bin/tsc", path.join(dir, "node_modules/.bin/tsc"));
    fs.symlinkSync("../express/index.js", path.join(dir, "node_modules/.bin/express"));
    const r = node([PKG, "prune-dev", dir]);
    expect(r).toEqual({ code: 0, stdout: "2\n" });
    const exists = (p: string) => fs.existsSync(path.join(dir, p));
    expect(exists("node_modules/typescript")).toBe(false);
    expect(exists("node_modules/express/node_modules/debug")).toBe(false);
    expect(exists("node_modules/express/index.js")).toBe(true);
    expect(exists("node_modules/fsevents")).toBe(true);
    expect(fs.readdirSync(path.join(dir, "node_modules/.bin"))).toEqual(["express"]);
    expect(exists("node_modules/.package-lock.json")).toBe(false);
  });

  it("declines (exit 3) without a v2+ lockfile, so compile falls back to npm prune", () => {
    expect(node([PKG, "prune-dev", appDir({ "package.json": "{}" })]).code).toBe(3);
    const v1 = appDir({ "package-lock.json": JSON.stringify({ lockfileVersion: 1, dependencies: {} }) });
    expect(node([PKG, "prune-dev", v1]).code).toBe(3);
  });
});
