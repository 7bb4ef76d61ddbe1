import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config.js";
import { type Router, startRouter } from "../../src/router/index.js";
import { STORE_CONNECTION } from "../../src/store/health.js";
import { Keys } from "../../src/store/keys.js";
import { RoutesStore } from "../../src/store/routes.js";
import { freePort } from "../helpers/platform.js";

// Issue 7: the router serves from its last table while Redis is away, and nothing on the
// error, reconnect or resync path shrinks it; a deploy's standby backends take requests
// when every backend fails. On a redis-server of the test's own (no persistence: it comes
// back empty, the worst case for a resync).

const NS = `rs${Date.now().toString(36)}`;
const DOMAIN = "resync.test";

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
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

async function backend(name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.end(`${name}\n`));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: "/", headers: { host }, agent: false },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

async function eventually(fn: () => Promise<boolean> | boolean, attempts = 100, ms = 100): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, ms));
  }
  return false;
}

describe("router table through a Redis outage", () => {
  let server: ChildProcess | null = null;
  let redisPort = 0;
  let store: Redis;
  let subscriber: Redis;
  let routes: RoutesStore;
  let router: Router;
  const logs: string[] = [];
  const backends: Array<{ port: number; close: () => Promise<void> }> = [];

  beforeAll(async () => {
    redisPort = await freePort();
    server = await startRedis(redisPort);
    const url = `redis://127.0.0.1:${redisPort}`;
    store = new Redis(url, STORE_CONNECTION);
    store.on("error", () => {});
    subscriber = new Redis(url, { maxRetriesPerRequest: null });
    subscriber.on("error", () => {});
    routes = new RoutesStore(store, new Keys(NS));
    for (const name of ["one", "two", "standby"]) backends.push(await backend(name));
    await routes.put({ app: "svc", backends: [{ host: "127.0.0.1", port: backends[0].port }], domains: [] });
    router = await startRouter({
      settings: loadSettings({ PAAS_NAMESPACE: NS, PAAS_DOMAIN: DOMAIN, PAAS_REDIS_URL: url }),
      routes,
      subscriber,
      port: 0,
      host: "127.0.0.1",
      log: (msg) => void logs.push(msg),
    });
  });

  afterAll(async () => {
    await router?.close();
    subscriber?.disconnect();
    store?.disconnect();
    await killRedis(server);
    for (const b of backends) await b.close();
  });

  it("sends a request to the standby backends only when every backend failed", async () => {
    const dead = await freePort();
    await routes.setBackends(
      "svc",
      [{ host: "127.0.0.1", port: dead }],
      [{ host: "127.0.0.1", port: backends[2].port }],
    );
    await router.reload("svc");
    for (let i = 0; i < 5; i++)
      expect(await get(router.port, `svc.${DOMAIN}`)).toEqual({ status: 200, body: "standby\n" });
    await routes.setBackends("svc", [{ host: "127.0.0.1", port: backends[0].port }]);
    await router.reload("svc");
    expect((await get(router.port, `svc.${DOMAIN}`)).body).toBe("one\n");
  });

  it("keeps serving while Redis is down and after it comes back empty, then follows changes again", async () => {
    await killRedis(server);
    server = null;
    // A read now fails (fast) and the table stays.
    await expect(router.reload()).rejects.toThrow();
    await expect(router.reload("svc")).rejects.toThrow();
    for (let i = 0; i < 5; i++) {
      expect(await get(router.port, `svc.${DOMAIN}`)).toEqual({ status: 200, body: "one\n" });
      await new Promise((r) => setTimeout(r, 200));
    }
    const mark = logs.length;
    server = await startRedis(redisPort);
    // The subscriber reconnects and resyncs; Redis came back without data: the table stays.
    expect(
      await eventually(() => logs.slice(mark).some((l) => l.includes("route resync found no apps"))),
      logs.slice(mark).join("\n"),
    ).toBe(true);
    expect(await get(router.port, `svc.${DOMAIN}`)).toEqual({ status: 200, body: "one\n" });
    // And the change feed works again (resubscribed): a new route for the app lands.
    expect(
      await eventually(async () => {
        if (store.status !== "ready") return false;
        await routes.put({
          app: "svc",
          backends: [{ host: "127.0.0.1", port: backends[1].port }],
          domains: [],
        });
        return (await get(router.port, `svc.${DOMAIN}`)).body === "two\n";
      }),
    ).toBe(true);
  });
});
