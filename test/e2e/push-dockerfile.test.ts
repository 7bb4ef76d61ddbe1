import fsp from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, dockerImages, Platform } from "../helpers/platform.js";

// The platform's foundation, end to end: real server process, real dockerd, real Redis,
// the system git over smart HTTP, the real CLI, and requests through the router.

describe("git push of a Dockerfile app", () => {
  const p = new Platform();
  const app = `hello-${Date.now().toString(36)}`;
  let repo = "";

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
  });

  afterAll(async () => {
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("creates the app and adds the paas remote", async () => {
    const res = await p.cli(["apps:create", app], { cwd: repo });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(app);
    const remote = await p.git(["remote", "get-url", "paas"], repo);
    expect(remote.stdout.trim()).toBe(`${p.apiUrl}/git/${app}.git`);
    const list = await p.cli(["apps", "--json"]);
    expect(JSON.parse(list.stdout).map((a: { name: string }) => a.name)).toContain(app);
  });

  it("answers 503 for a known app with nothing running", async () => {
    const res = await p.get(app);
    expect(res.status).toBe(503);
  });

  it("deploys on git push and serves through the router", async () => {
    const push = await p.git(["push", "paas", "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code, out).toBe(0);
    expect(out).toContain("remote: -----> Building");
    expect(out).toContain("dockerignore honoured");
    expect(out).toContain("build CA bundle present");
    // The injected CA steps are hidden: the steps are numbered as the app's Dockerfile has them.
    expect(out).toContain("Step 1/7 : FROM paas/busybox:latest");
    expect(out).toContain("Step 7/7 : CMD");
    expect(out).not.toMatch(/ca-bundle\.crt|LABEL paas\./);
    expect(out).toContain(`http://${app}.paas.test:${p.routerPort}`);
    const res = await p.get(app);
    expect(res.status).toBe(200);
    expect(res.body).toContain("hello from dockerfile-hello");
    const ps = await p.cli(["ps", "--json"], { cwd: repo });
    const procs = JSON.parse(ps.stdout) as { name: string; state: string }[];
    expect(procs.map((x) => `${x.name}:${x.state}`)).toEqual(["web.1:up"]);
    const containers = await dockerContainers(p.ns, app, "app");
    expect(containers).toHaveLength(1);
    const c = containers[0];
    expect(c.Labels["paas.process"]).toBe("web");
    expect(c.Ports.every((port) => !port.IP || port.IP === "127.0.0.1")).toBe(true);
  });

  it("config:set restarts the app with the new value, and config:get prints it bare", async () => {
    const set = await p.cli(["config:set", "GREETING=hello-world", "OTHER=x"], { cwd: repo });
    expect(set.code, set.stderr).toBe(0);
    const res = await p.get(app, "/cgi-bin/env");
    expect(res.body).toContain("greeting=hello-world");
    expect(res.body).toContain("dyno=web.1");
    // The old release drains after the change: ps shows it as draining, never as a second web.1 up.
    const ps = JSON.parse((await p.cli(["ps", "--json"], { cwd: repo })).stdout) as {
      name: string;
      state: string;
    }[];
    expect(ps.filter((x) => x.state === "up").map((x) => x.name)).toEqual(["web.1"]);
    expect(ps.every((x) => x.state === "up" || x.state === "draining")).toBe(true);
    const get = await p.cli(["config:get", "GREETING"], { cwd: repo });
    expect(get.stdout).toBe("hello-world\n");
    const unset = await p.cli(["config:unset", "OTHER"], { cwd: repo });
    expect(unset.code, unset.stderr).toBe(0);
    const cfg = JSON.parse((await p.cli(["config", "--json"], { cwd: repo })).stdout);
    expect(cfg).toEqual({ GREETING: "hello-world" });
    // Unsetting a key that is not set changes nothing: no release, on the CLI or the API.
    const releases = async () =>
      JSON.parse((await p.cli(["releases", "--json"], { cwd: repo })).stdout).length;
    const count = await releases();
    const again = await p.cli(["config:unset", "OTHER"], { cwd: repo });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`OTHER is not set on ${app}: nothing to unset, no new release\n`);
    const raw = await fetch(`${p.apiUrl}/api/v1/apps/${app}/config`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json" },
      body: JSON.stringify({ OTHER: null }),
    });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual({ GREETING: "hello-world" });
    expect(await releases()).toBe(count);
  });

  it("shows the app's logs", async () => {
    const logs = await p.cli(["logs", "-n", "50"], { cwd: repo });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/app\[web\.1\]: starting on port \d+/);
  });

  it("rejects a broken build and keeps the old release serving", async () => {
    await fsp.copyFile(
      path.join(import.meta.dirname, "../fixtures/apps/dockerfile-broken/Dockerfile"),
      path.join(repo, "Dockerfile"),
    );
    await p.git(["commit", "-qam", "break the build"], repo);
    const push = await p.git(["push", "paas", "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code).not.toBe(0);
    expect(out).toContain("[remote rejected]");
    expect(out).toContain("about to fail");
    // Only the app's steps, as numbered in the push's stream: not Docker's raw tail again.
    expect(out).not.toMatch(/ca-bundle\.crt|LABEL paas\./);
    expect(out.match(/Step \d+\/\d+ :/g)).toEqual(["Step 1/3 :", "Step 2/3 :"]);
    const res = await p.get(app, "/cgi-bin/env");
    expect(res.status).toBe(200);
    expect(res.body).toContain("greeting=hello-world");
  });

  it("explains a FROM image that cannot be pulled, naming the local base images", async () => {
    await fsp.writeFile(path.join(repo, "Dockerfile"), 'FROM node:20-bookworm\nCMD ["node"]\n');
    await p.git(["commit", "-qam", "an image from a registry"], repo);
    const push = await p.git(["push", "paas", "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code).not.toBe(0);
    expect(out).toContain("use a local one in FROM: paas/debian:bookworm");
    expect((await p.get(app, "/cgi-bin/env")).body).toContain("greeting=hello-world");
  });

  it("refuses pushes to branches that do not deploy", async () => {
    await p.git(["checkout", "-qb", "feature"], repo);
    const push = await p.git(["push", "paas", "feature"], repo);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("only main or master deploy");
    await p.git(["checkout", "-q", "main"], repo);
  });

  it("destroys the app with its containers, images and repo", async () => {
    const refused = await p.cli(["apps:destroy", app], { cwd: repo });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--confirm");
    const res = await p.cli(["apps:destroy", app, "--confirm", app], { cwd: repo });
    expect(res.code, res.stderr).toBe(0);
    expect(await dockerContainers(p.ns, app)).toHaveLength(0);
    expect(await dockerImages(p.ns, app)).toHaveLength(0);
    expect((await p.get(app)).status).toBe(404);
    const info = await p.cli(["apps:info", "-a", app]);
    expect(info.code).not.toBe(0);
    expect(info.stderr).toContain("not found");
  });

  it("stops cleanly on SIGTERM with exit code 0", async () => {
    expect(await p.stop()).toBe(0);
  });
});
