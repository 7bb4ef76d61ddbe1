import fsp from "node:fs/promises";
import http from "node:http";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform, REDIS_URL } from "../helpers/platform.js";
import { parsePrometheus } from "../helpers/prometheus.js";

// Router settings and maintenance through the real CLI, against a real `paas server` running
// two router worker processes: every change reaches the workers over the change feed, router
// lines land in the app's log stream (`paas logs`), /metrics sums both workers, and a worker
// that dies is replaced.

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  tries = 120,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn().catch(() => null);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** POST `size` bytes with a Content-Length; the status the router answers. */
function post(port: number, host: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        headers: { host, "content-length": size },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(Buffer.alloc(size, 97));
  });
}

describe("router settings, maintenance, workers and /metrics", () => {
  const p = new Platform();
  const app = `rset-${Date.now().toString(36)}`;
  const host = `${app}.paas.test`;
  let repo = "";
  let redis: Redis;

  beforeAll(async () => {
    await p.start({ PAAS_ROUTER_WORKERS: "2" });
    redis = new Redis(REDIS_URL);
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stderr).toBe(0);
    await until("the app to answer", async () => (await p.get(app)).status === 200);
  });

  afterAll(async () => {
    redis?.disconnect();
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("sets, reads and reports router settings, refusing bad ones in one line", async () => {
    const set = await p.cli(["router:set", "client-max-body-size", "1k", "-a", app]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("client-max-body-size: 1k");
    expect((await p.cli(["router:get", "client-max-body-size", "-a", app])).stdout.trim()).toBe("1k");
    const report = await p.cli(["router:report", "-a", app]);
    expect(report.stdout).toMatch(/client-max-body-size:\s+1k\n/);
    expect(report.stdout).toMatch(/first-byte-timeout:\s+30s \(default\)/);
    expect(report.stdout).toMatch(/maintenance:\s+off/);
    const bad = await p.cli(["router:set", "idle-timeout", "forever", "-a", app]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe(
      'error: idle-timeout value "forever" is not understood: give a value like 30s, 500ms or 2m',
    );
    const unknown = await p.cli(["router:set", "gzip", "on", "-a", app]);
    expect(unknown.stderr).toMatch(/^error: unknown router setting "gzip"/);
  });

  it("answers 413 past the limit on every worker, and takes the default back", async () => {
    // Several requests, new connections each: the cluster spreads them over both workers.
    await until("413 from the router", async () => (await post(p.routerPort, host, 4096)) === 413);
    for (let i = 0; i < 6; i++) expect(await post(p.routerPort, host, 4096)).toBe(413);
    expect((await p.cli(["router:set", "client-max-body-size", "default", "-a", app])).code).toBe(0);
    await until("the default limit", async () => (await post(p.routerPort, host, 4096)) !== 413);
    for (let i = 0; i < 6; i++) expect(await post(p.routerPort, host, 4096)).not.toBe(413);
  });

  it("serves the maintenance page with Retry-After while maintenance is on", async () => {
    expect((await p.cli(["maintenance:on", "-a", app])).code).toBe(0);
    expect((await p.cli(["maintenance", "-a", app])).stdout.trim()).toBe("on");
    const r = await until("the maintenance page", async () => {
      const res = await p.get(app);
      return res.status === 503 ? res : null;
    });
    expect(r.headers["retry-after"]).toBe("600");
    expect(r.body).toContain(`${app} is down for maintenance`);
    for (let i = 0; i < 4; i++) expect((await p.get(app)).status).toBe(503);
    expect((await p.cli(["maintenance:off", "-a", app])).code).toBe(0);
    await until("the app again", async () => (await p.get(app)).status === 200);
  });

  it("puts a Heroku-style router line into the app's log stream (paas logs)", async () => {
    expect((await p.get(app, "/?from=e2e", { "x-request-id": "e2e-router-line" })).status).toBe(200);
    const line = await until("the router line in paas logs", async () => {
      const out = (await p.cli(["logs", "-n", "200", "-a", app])).stdout;
      return out.split("\n").find((l) => l.includes("request_id=e2e-router-line"));
    });
    expect(line).toMatch(
      /^\S+ paas\[router\]: at=info method=GET path="\/\?from=e2e" host=\S+ request_id=e2e-router-line fwd="127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=\d+ protocol=http$/,
    );
  });

  it("serves /metrics to the admin token only, summed over both workers", async () => {
    expect((await fetch(`${p.apiUrl}/metrics`)).status).toBe(401);
    // Workers publish every 5 s: wait for both, and for the requests of the tests above.
    const appRequests = (body: string) =>
      parsePrometheus(body)
        .filter((s) => s.name === "paas_router_requests_total" && s.labels.app === app)
        .reduce((n, s) => n + s.value, 0);
    let last = "";
    const text = await until("both workers and this file's requests in /metrics", async () => {
      const res = await fetch(`${p.apiUrl}/metrics`, { headers: { authorization: `Bearer ${p.token}` } });
      last = await res.text();
      const seen =
        last.includes(`paas_router_requests_total{app="${app}",status="413"}`) &&
        last.includes(`paas_router_requests_total{app="${app}",status="503"}`);
      // The 14 POSTs of the 413 test at least, whichever worker took them.
      return res.status === 200 && /^paas_router_workers 2$/m.test(last) && seen && appRequests(last) >= 14
        ? last
        : null;
    }).catch((err) => {
      throw new Error(`${(err as Error).message}; last answer:\n${last}`);
    });
    expect(text).toContain(`paas_router_requests_total{app="${app}",status="413"}`);
    expect(text).toContain(`paas_router_requests_total{app="${app}",status="503"}`);
    const samples = parsePrometheus(text);
    expect(samples.find((s) => s.name === "paas_router_table_apps")?.value).toBeGreaterThanOrEqual(1);
  });

  it("replaces a router worker that dies, and keeps serving meanwhile", async () => {
    const pids = async () =>
      Object.values(await redis.hgetall(`${p.ns}:router-stats`)).map(
        (j) => (JSON.parse(j) as { pid: number }).pid,
      );
    const before = await until("two worker pids", async () => ((await pids()).length === 2 ? pids() : null));
    process.kill(before[0], "SIGKILL");
    for (let i = 0; i < 10; i++) expect((await p.get(app)).status).toBe(200);
    await until("a new worker", async () => {
      const now = await pids();
      return now.some((pid) => !before.includes(pid)) && now.filter((pid) => pid !== before[0]).length >= 2;
    });
  });
});
