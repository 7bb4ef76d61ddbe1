import { type ChildProcess, spawn } from "node:child_process";
import fsp from "node:fs/promises";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, freePort, Platform, REDIS_URL, ROOT } from "../helpers/platform.js";

// One way to change what runs: the API validates and queues, a worker does it. Two real
// `paas server` processes share Redis and a namespace: one runs api,git,router and cannot
// reach Docker at all (DOCKER_HOST points at a socket that does not exist), the other runs
// only the worker role. Push, scale, restart, stop, resources, purge-cache and destroy must
// all work, and each answer must come after the worker did the change.

const NO_DOCKER = "unix:///nonexistent/paas-no-docker.sock";
const CLI = path.join(ROOT, "dist/cli/main.js");

describe("an API without Docker and a separate worker", () => {
  const p = new Platform();
  const app = `split-${Date.now().toString(36)}`;
  const docker = new Docker();
  let repo = "";
  let worker: ChildProcess | null = null;
  let workerOutput = "";

  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${p.apiUrl}/api/v1/apps/${app}${route}`, {
      method,
      headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  const running = async () =>
    (await dockerContainers(p.ns, app, "app"))
      .filter((c) => c.State === "running")
      .map((c) => ({ id: c.Id, name: `${c.Labels["paas.process"]}.${c.Labels["paas.instance"]}` }))
      .sort((a, b) => a.name.localeCompare(b.name));

  beforeAll(async () => {
    await p.start({ PAAS_ROLES: "api,git,router", DOCKER_HOST: NO_DOCKER });
    const child = spawn(process.execPath, [CLI, "server", "--roles", "worker"], {
      env: {
        ...process.env,
        PAAS_NAMESPACE: p.ns,
        PAAS_DATA_DIR: p.dataDir,
        PAAS_REDIS_URL: REDIS_URL,
        PAAS_API_PORT: String(await freePort()),
        PAAS_HTTP_PORT: String(await freePort()),
        PAAS_BIND: "127.0.0.1",
        PAAS_DOMAIN: "paas.test",
        PAAS_START_TIMEOUT: "30",
        PAAS_DRAIN_SECONDS: "1",
        PAAS_CHECK_UPTIME: "1",
        PAAS_STOP_TIMEOUT: "3",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    worker = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start:\n${workerOutput}`)), 30_000);
      const onData = (d: Buffer) => {
        workerOutput += d.toString();
        if (workerOutput.includes("paas is running")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited with ${code}:\n${workerOutput}`));
      });
    });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
  });

  afterAll(async () => {
    const child = worker;
    if (child && child.exitCode === null) {
      child.removeAllListeners("exit");
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.kill("SIGTERM");
      await exited;
      clearTimeout(kill);
    }
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("each process runs only the roles it was given", async () => {
    expect(p.output).toContain("roles: api, git, router");
    expect(workerOutput).toContain("roles: worker");
    // Tokens are issued and checked where the API runs; a worker never issues one.
    expect(workerOutput).not.toContain("admin token");
  });

  it("a push is built and released by the worker and served by the API host's router", async () => {
    const r = await p.git(["push", "paas", "HEAD:main"], repo);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await p.get(app)).body).toContain("hello");
    expect((await running()).map((c) => c.name)).toEqual(["web.1"]);
  });

  it("ps:scale answers once the worker has started the containers", async () => {
    const r = await p.cli(["ps:scale", "web=2"], { cwd: repo });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // No polling: the answer means it is done.
    expect((await running()).map((c) => c.name)).toEqual(["web.1", "web.2"]);
    expect((await api("GET", "/formation")).json).toEqual({ web: 2 });
  });

  it("a scale the API can check is refused with a 400 before any job runs", async () => {
    const r = await api("PATCH", "/formation", { worker: "1" });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/no "worker" process type/);
    const bad = await api("PATCH", "/formation", { web: "x" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/web must be N, \+N or -N/);
    expect((await api("GET", "/formation")).json).toEqual({ web: 2 });
  });

  it("ps:restart replaces the container before it answers", async () => {
    const before = (await running()).find((c) => c.name === "web.1")!;
    const r = await api("POST", "/ps/restart", { target: "web.1" });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toEqual({ restarted: ["web.1"] });
    const after = (await running()).find((c) => c.name === "web.1");
    expect(after?.id).toBeDefined();
    expect(after?.id).not.toBe(before.id);
    expect((await p.get(app)).status).toBe(200);
  });

  it("ps:stop has stopped the container when it answers; a worker-side refusal keeps its 400", async () => {
    const r = await p.cli(["ps:stop", "web.2"], { cwd: repo });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // (An old web.1 may still be draining from the restart: only web.2 matters here.)
    expect((await running()).map((c) => c.name)).not.toContain("web.2");
    // Only the worker can see that there is no web.7: its typed error comes back as a 400.
    const none = await api("POST", "/ps/stop", { target: "web.7" });
    expect(none.status).toBe(400);
    expect(none.json.error.message).toMatch(/web\.7 is not running/);
  });

  it("resources:set restarts web with the new limit before it answers", async () => {
    const r = await p.cli(["resources:set", "--memory", "96m", "web"], { cwd: repo });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The replacement web.1 runs with the limit (the one it replaced may still be draining).
    const limits = await Promise.all(
      (await running())
        .filter((c) => c.name === "web.1")
        .map(async (c) => (await docker.getContainer(c.id).inspect()).HostConfig.Memory),
    );
    expect(limits).toContain(96 * 1024 * 1024);
  });

  it("resources:set refuses more CPUs than the worker's engine has, saving nothing", async () => {
    const cores = (await docker.info()).NCPU as number;
    const over = await p.cli(["resources:set", "--cpu", String(cores + 2), "web"], { cwd: repo });
    expect(over.code).toBe(1);
    expect(over.stderr).toContain(`is more than this host has (${cores} core`);
    expect(over.stderr).not.toMatch(/Range of CPUs|could not start/);
    const beyond = await api("PATCH", "/resources", { type: "web", cpu: 99 });
    expect(beyond.status).toBe(400);
    expect(beyond.json.error.message).toMatch(/from 0\.01 to 64/);
    const tiny = await api("PATCH", "/resources", { type: "web", memory: "5m" });
    expect(tiny.status).toBe(400);
    const limits = await p.cli(["resources", "--json"], { cwd: repo });
    expect(limits.stdout).not.toMatch(/"cpu":\s*\d/);
    // The refusal is the user's mistake: the worker logs the failed job as a warning.
    expect(workerOutput).toMatch(/"level":"warn"[^\n]*"msg":"job failed"/);
  });

  it("repo:purge-cache is done by the worker", async () => {
    const r = await p.cli(["repo:purge-cache"], { cwd: repo });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("apps:destroy has removed every container when it answers", async () => {
    const r = await p.cli(["apps:destroy", app, "--confirm", app], { cwd: repo });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await dockerContainers(p.ns, app)).toEqual([]);
    expect((await api("GET", "/formation")).status).toBe(404);
  });
});
