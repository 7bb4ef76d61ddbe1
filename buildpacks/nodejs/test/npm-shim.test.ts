import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { appDir } from "./helpers.js";

// The runtime npm stand-in: `npm start` / `npm run x` on a run stack without npm.
const SHIM = path.resolve(import.meta.dirname, "../lib/npm-shim");

function shim(dir: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(SHIM, args, { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
}

describe("npm shim", () => {
  it("runs the start script with node_modules/.bin on PATH and passes args after --", () => {
    const dir = appDir({
      "package.json": JSON.stringify({ scripts: { start: "echo started $npm_lifecycle_event", prestart: "echo pre" } }),
      "node_modules/.bin/": "",
    });
    const r = shim(dir, ["start", "--", "extra"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("pre\n");
    expect(r.stdout).toContain("started start extra");
  });

  it("falls back to node server.js like npm does", () => {
    const dir = appDir({ "package.json": "{}", "server.js": "console.log('server.js ran')" });
    expect(shim(dir, ["start"]).stdout).toContain("server.js ran");
  });

  it("runs named scripts and fails clearly on missing ones or other npm commands", () => {
    const dir = appDir({ "package.json": JSON.stringify({ scripts: { hi: "echo hi there" } }) });
    expect(shim(dir, ["run", "hi"]).stdout).toContain("hi there");
    const missing = shim(dir, ["run", "nope"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('missing script: "nope"');
    const install = shim(dir, ["install"]);
    expect(install.status).toBe(1);
    expect(install.stderr).toContain("not installed at runtime");
  });

  it("at build time runs pre, main and post scripts with npm's variables", () => {
    const dir = appDir({
      "package.json": JSON.stringify({
        name: "app",
        version: "1.2.3",
        scripts: { prebuild: "echo pre", build: "echo main $npm_package_name@$npm_package_version", postbuild: "echo post" },
      }),
    });
    const r = shim(dir, ["run", "build"], { NPM_SHIM_NO_EXEC: "1" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/pre\n[\s\S]*main app@1\.2\.3\n[\s\S]*post\n/);
    expect(r.stdout).toContain("> app@1.2.3 build");
  });

  it("fails with the script's exit code", () => {
    const dir = appDir({ "package.json": JSON.stringify({ scripts: { build: "exit 7" } }) });
    expect(shim(dir, ["run", "build"], { NPM_SHIM_NO_EXEC: "1" }).status).toBe(7);
  });
});
