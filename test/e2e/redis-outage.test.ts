import { type ChildProcess, spawn } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, Platform } from "../helpers/platform.js";

// Issue 7, "when Redis goes away": a platform on a redis-server of the test's own, which the
// test kills (SIGKILL, as a crash) and starts again on the same port. Redis keeps an
// append-only file in the test's directory, as the platform's own Redis does, so it comes
// back with its data. Meanwhile: the API and git answer 503 with one line at once, the CLI
// prints it, the router keeps serving the app; afterwards everything works again without
// restarting the platform.

const LINE = /the platform's state store \(Redis at 127\.0\.0\.1:\d+\) is unreachable; try again shortly/;

function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
      ...["--appendonly", "yes", "--appendfsync", "always"],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 20_000);
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
}

function killRedis(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.removeAllListeners("exit");
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("the platform while its Redis is away", () => {
  const p = new Platform();
  const app = `outage-${Date.now().toString(36)}`;
  let repo = "";
  let dir = "";
  let port = 0;
  let redis: ChildProcess | null = null;

  /** One API request with a bounded client timeout; status, body and how long it took. */
  const api = async (method: string, route: string, body?: unknown) => {
    const t0 = performance.now();
    const res = await fetch(`${p.apiUrl}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - t0 };
  };
  const eventually = async (fn: () => Promise<boolean>, attempts = 120, ms = 500) => {
    for (let i = 0; i < attempts; i++) {
      if (await fn().catch(() => false)) return true;
      await new Promise((r) => setTimeout(r, ms));
    }
    return false;
  };

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-redis-"));
    port = await freePort();
    redis = await startRedis(port, dir);
    await p.start({ PAAS_REDIS_URL: `redis://127.0.0.1:${port}` });
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    expect((await p.get(app)).body).toContain("hello from dockerfile-hello");
  });

  afterAll(async () => {
    await p.stop();
    await killRedis(redis);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("answers 503 with one line while Redis is down, and the router keeps serving", async () => {
    await killRedis(redis);
    redis = null;

    const latencies: number[] = [];
    for (const [method, route, body] of [
      ["GET", "/apps"],
      ["GET", `/apps/${app}`],
      ["PATCH", `/apps/${app}/config`, { GREETING: "during-outage" }],
      ["GET", "/whoami"],
    ] as const) {
      const res = await api(method, route, body);
      latencies.push(Math.round(res.ms));
      expect(res.status, `${method} ${route}: ${res.text}`).toBe(503);
      const parsed = JSON.parse(res.text) as { error: { code: string; message: string } };
      expect(parsed.error.code).toBe("unavailable");
      expect(parsed.error.message).toMatch(LINE);
    }
    console.log(`API answers while Redis is down, ms: ${latencies.join(", ")}`);

    const cli = await p.cli(["config"], { cwd: repo });
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(LINE);
    expect(cli.stderr.trim().split("\n")).toHaveLength(1);

    await fsp.writeFile(path.join(repo, "www/index.html"), "hello during the outage\n");
    await p.git(["commit", "-qam", "during the outage"], repo);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code).not.toBe(0);
    expect(push.stdout + push.stderr).toMatch(LINE);

    // The router serves from its last table for the whole outage.
    for (let i = 0; i < 6; i++) {
      const res = await p.get(app);
      expect(res.status).toBe(200);
      expect(res.body).toContain("hello from dockerfile-hello");
      await new Promise((r) => setTimeout(r, 1_000));
    }
  });

  it("comes back by itself when Redis returns: API, config change and push", async () => {
    redis = await startRedis(port, dir);
    expect(await eventually(async () => (await api("GET", "/apps")).status === 200)).toBe(true);
    expect((await api("GET", `/apps/${app}`)).status).toBe(200);

    const set = await p.cli(["config:set", "GREETING=after-outage"], { cwd: repo });
    expect(set.code, set.stderr).toBe(0);
    expect((await p.get(app, "/cgi-bin/env")).body).toContain("greeting=after-outage");

    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    expect((await p.get(app)).body).toContain("hello during the outage");
  });
  it("a Redis that hangs without closing the connection counts as unreachable too", async () => {
    // SIGSTOP: the socket stays open and nothing answers (a hung server, a partition).
    redis!.kill("SIGSTOP");
    try {
      const latencies: number[] = [];
      for (const route of ["/apps", `/apps/${app}/config`, "/apps"]) {
        const res = await api("GET", route);
        latencies.push(Math.round(res.ms));
        expect(res.status, res.text).toBe(503);
        expect(JSON.parse(res.text).error.message).toMatch(LINE);
      }
      console.log(`API answers while Redis hangs, ms: ${latencies.join(", ")}`);
      expect((await p.get(app)).status).toBe(200);
    } finally {
      redis!.kill("SIGCONT");
    }
    expect(await eventually(async () => (await api("GET", `/apps/${app}/config`)).status === 200)).toBe(true);
  });
});
