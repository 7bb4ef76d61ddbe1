import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";

// Issue 3 end to end: source without a Dockerfile, pushed with git, built by buildpacks on
// the stack images, served through the router.

describe("git push of buildpack apps", () => {
  const p = new Platform();
  const repos: string[] = [];

  beforeAll(async () => {
    await p.start();
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const r of repos) await fsp.rm(r, { recursive: true, force: true });
  });

  async function deploy(fixture: string) {
    const repo = await p.fixtureRepo(fixture);
    repos.push(repo);
    const app = `${fixture.replace(/^bp-/, "").slice(0, 12)}-${Date.now().toString(36)}`.replace(/--+/g, "-");
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    return { app, repo, code: push.code, out: push.stdout + push.stderr };
  }

  it("builds and serves a Node app with express, started by npm start", async () => {
    const d = await deploy("bp-node-express");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("-----> ");
    const res = await p.get(d.app);
    expect(res.status).toBe(200);
  });
});
