import { randomBytes } from "node:crypto";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings, type Settings } from "../../src/config.js";
import { type Router, startRouter } from "../../src/router/index.js";
import { DomainsStore } from "../../src/store/domains.js";
import { Keys } from "../../src/store/keys.js";
import { RoutesStore } from "../../src/store/routes.js";

// The router against a real Redis and real backend servers on loopback: routes come from
// RoutesStore, changes arrive over pub/sub, and every assertion is on real HTTP traffic.

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";
const NS = `test-router-${randomBytes(4).toString("hex")}`;
const DOMAIN = "paas.test";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TestBackend {
  name: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

/** A backend that answers JSON about what it received and echoes websocket bytes. */
async function startBackend(name: string, mode: "ok" | "hangup" = "ok"): Promise<TestBackend> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    if (mode === "hangup") return void req.socket.destroy();
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const delay = Number(new URL(req.url!, "http://x").searchParams.get("delay") ?? 0);
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, body }));
      }, delay);
    });
  });
  server.on("upgrade", (req, socket) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: "" });
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening: connections to it are refused. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(
  port: number,
  host: string,
  opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: opts.path ?? "/",
        method: opts.method ?? "GET",
        headers: { host, ...opts.headers },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("test request timed out")));
    req.on("error", reject);
    req.end(opts.body);
  });
}

const nameOf = (r: Reply) => (JSON.parse(r.body) as { name: string }).name;

async function pollUntil<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Open a raw connection, send `text`, and collect what comes back. */
function rawClient(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let received = Buffer.alloc(0);
  socket.on("data", (c) => {
    received = Buffer.concat([received, c]);
  });
  socket.on("error", () => {});
  return {
    socket,
    text: () => received.toString("latin1"),
    async waitFor(pred: (text: string) => boolean, ms = 5_000): Promise<string> {
      const deadline = Date.now() + ms;
      while (!pred(received.toString("latin1"))) {
        if (Date.now() > deadline)
          throw new Error(`timed out; got ${JSON.stringify(received.toString("latin1"))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return received.toString("latin1");
    },
  };
}

const upgradeRequest = (host: string) =>
  `GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

describe("router", () => {
  let redis: Redis;
  const subscribers: Redis[] = [];
  let routes: RoutesStore;
  // Custom domains are claimed in the domain store (what `paas domains:add` does); routes read them.
  let domains: DomainsStore;
  let settings: Settings;
  let router: Router;
  const logs: Array<{ msg: string; ctx?: Record<string, unknown> }> = [];
  const backends: Record<string, TestBackend> = {};
  let dead: number;

  const newSubscriber = () => {
    const s = new Redis(REDIS_URL, { lazyConnect: false });
    subscribers.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    routes = new RoutesStore(redis, new Keys(NS));
    domains = new DomainsStore(redis, new Keys(NS));
    settings = loadSettings({
      PAAS_NAMESPACE: NS,
      PAAS_DOMAIN: DOMAIN,
      PAAS_REDIS_URL: REDIS_URL,
      PAAS_BIND: "127.0.0.1",
    });
    for (const name of ["b1", "b2", "b3", "b4", "slow"]) backends[name] = await startBackend(name);
    backends.hangup = await startBackend("hangup", "hangup");
    dead = await deadPort();
    const at = (b: TestBackend) => ({ host: "127.0.0.1", port: b.port, id: b.name });
    await routes.put({ app: "alpha", backends: [at(backends.b1)], domains: [] });
    await domains.add("alpha", ["www.alpha.test"]);
    await routes.put({ app: "beta", backends: [at(backends.b2), at(backends.b3)], domains: [] });
    await routes.put({ app: "idle", backends: [], domains: [] });
    await routes.put({
      app: "gamma",
      backends: [{ host: "127.0.0.1", port: dead }, at(backends.b4)],
      domains: [],
    });
    await routes.put({ app: "omega", backends: [{ host: "127.0.0.1", port: dead }], domains: [] });
    await routes.put({ app: "crashy", backends: [at(backends.hangup)], domains: [] });
    await routes.put({ app: "slow", backends: [at(backends.slow)], domains: [] });
    router = await startRouter({
      settings,
      routes,
      subscriber: newSubscriber(),
      port: 0,
      host: "127.0.0.1",
      upstreamTimeoutMs: 1_000,
      log: (msg, ctx) => logs.push({ msg, ctx }),
      sink: { write: (_app, msg, ctx) => void logs.push({ msg, ctx }), flush: async () => {} },
    });
  });

  afterAll(async () => {
    await router?.close();
    for (const b of Object.values(backends)) await b.close();
    const keys = await redis.keys(`${NS}:*`);
    if (keys.length > 0) await redis.del(...keys);
    for (const s of subscribers) s.disconnect();
    redis.disconnect();
  });

  it("routes by Host: platform name, custom domain, any case, port or trailing dot", async () => {
    for (const host of [
      "alpha.paas.test",
      "www.alpha.test",
      "ALPHA.Paas.Test.",
      `alpha.paas.test:${router.port}`,
    ]) {
      const r = await send(router.port, host, { path: "/hello?x=1" });
      expect(r.status, host).toBe(200);
      expect(nameOf(r)).toBe("b1");
      expect(JSON.parse(r.body).url).toBe("/hello?x=1");
    }
  });

  it("round-robins across an app's backends", async () => {
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push(nameOf(await send(router.port, "beta.paas.test")));
    expect(new Set(names)).toEqual(new Set(["b2", "b3"]));
    expect(names[0]).not.toBe(names[1]);
    expect(names[2]).toBe(names[0]);
    expect(names[3]).toBe(names[1]);
  });

  it("tells the app who asked: X-Forwarded-*, Host and X-Request-Id", async () => {
    const r = await send(router.port, "alpha.paas.test", { headers: { "x-forwarded-for": "203.0.113.9" } });
    const h = JSON.parse(r.body).headers as Record<string, string>;
    expect(h.host).toBe("alpha.paas.test");
    expect(h["x-forwarded-for"]).toBe("203.0.113.9, 127.0.0.1");
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h["x-forwarded-host"]).toBe("alpha.paas.test");
    expect(h["x-forwarded-port"]).toBe(String(router.port));
    expect(h["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);

    const given = await send(router.port, "alpha.paas.test", {
      headers: { "x-request-id": "trace-42", "x-forwarded-proto": "https" },
    });
    const gh = JSON.parse(given.body).headers as Record<string, string>;
    expect(gh["x-request-id"]).toBe("trace-42");
    expect(gh["x-forwarded-proto"]).toBe("http");
    expect(gh["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("answers 404 with a page for a host no app serves", async () => {
    const r = await send(router.port, "nobody.paas.test");
    expect(r.status).toBe(404);
    expect(r.headers["content-type"]).toMatch(/^text\/html/);
    expect(r.headers["x-request-id"]).toBeTruthy();
    expect(r.body).toContain("No app is deployed at nobody.paas.test");
    expect(r.body).toContain("git push paas main");
  });

  it("escapes the Host header in the 404 page", async () => {
    const r = await send(router.port, "<b>x</b>.paas.test");
    expect(r.status).toBe(404);
    expect(r.body).not.toContain("<b>x</b>");
    expect(r.body).toContain("&lt;b&gt;x&lt;/b&gt;");
  });

  it("answers 503 with a page for a known app with nothing running", async () => {
    const r = await send(router.port, "idle.paas.test");
    expect(r.status).toBe(503);
    expect(r.body).toContain("idle has no running web processes");
    expect(r.body).toContain("paas ps:scale web=1 -a idle");
  });

  it("picks up route changes from Redis without a restart", async () => {
    await routes.setBackends("idle", [{ host: "127.0.0.1", port: backends.b3.port }]);
    const up = await pollUntil(
      () => send(router.port, "idle.paas.test"),
      (r) => r.status === 200,
    );
    expect(up.status).toBe(200);
    expect(nameOf(up)).toBe("b3");

    await routes.put({
      app: "fresh",
      backends: [{ host: "127.0.0.1", port: backends.b4.port }],
      domains: [],
    });
    await domains.add("fresh", ["fresh.test"]);
    const fresh = await pollUntil(
      () => send(router.port, "fresh.test"),
      (r) => r.status === 200,
    );
    expect(nameOf(fresh)).toBe("b4");

    await routes.remove("idle");
    const gone = await pollUntil(
      () => send(router.port, "idle.paas.test"),
      (r) => r.status === 404,
    );
    expect(gone.status).toBe(404);
    expect(logs.some((l) => l.msg === "route removed: idle")).toBe(true);
  });

  it("keeps the last good route when a changed record cannot be read", async () => {
    const keys = new Keys(NS);
    await redis.set(keys.route("alpha"), "{not json");
    await redis.publish(keys.routeChannel(), "alpha");
    await pollUntil(
      async () =>
        logs.some((l) => l.msg.startsWith("route reload of alpha failed, keeping the last good table")),
      (v) => v,
    );
    const r = await send(router.port, "www.alpha.test");
    expect(r.status).toBe(200);
    expect(nameOf(r)).toBe("b1");
    await routes.put({
      app: "alpha",
      backends: [{ host: "127.0.0.1", port: backends.b1.port }],
      domains: ["www.alpha.test"],
    });
  });

  it("passes websocket upgrades through both ways", async () => {
    const before = backends.b1.seen.length;
    const c = rawClient(router.port);
    c.socket.write(upgradeRequest("alpha.paas.test"));
    const head = await c.waitFor((t) => t.includes("\r\n\r\n"));
    expect(head.startsWith("HTTP/1.1 101")).toBe(true);
    const upgrade = backends.b1.seen[before];
    expect(upgrade.headers.upgrade).toBe("websocket");
    expect(upgrade.headers["x-forwarded-for"]).toBe("127.0.0.1");
    const offset = c.text().length;
    c.socket.write("x");
    await c.waitFor((t) => t.slice(offset) === "x");
    c.socket.write("yz");
    await c.waitFor((t) => t.slice(offset) === "xyz");
    c.socket.destroy();
  });

  it("answers a websocket upgrade for an unknown host with a 404", async () => {
    const c = rawClient(router.port);
    c.socket.write(upgradeRequest("nobody.paas.test"));
    const reply = await c.waitFor((t) => t.includes("</html>"));
    expect(reply.startsWith("HTTP/1.1 404")).toBe(true);
    c.socket.destroy();
  });

  it("skips a dead backend, replaying the request body on a live one", async () => {
    const r = await send(router.port, "gamma.paas.test", {
      method: "POST",
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    expect(r.status).toBe(200);
    expect(nameOf(r)).toBe("b4");
    expect(JSON.parse(r.body).body).toBe("hello");
    expect(logs.some((l) => l.msg.includes(`backend 127.0.0.1:${dead} of gamma marked down`))).toBe(true);
    for (let i = 0; i < 4; i++) expect(nameOf(await send(router.port, "gamma.paas.test"))).toBe("b4");
  });

  it("answers 503 when every backend refuses", async () => {
    const r = await send(router.port, "omega.paas.test");
    expect(r.status).toBe(503);
    expect(r.body).toContain("omega has no running web processes");
  });

  it("answers 502 when the app closes the connection without answering", async () => {
    const r = await send(router.port, "crashy.paas.test", { method: "POST", body: "x" });
    expect(r.status).toBe(502);
    expect(r.body).toContain("crashy closed the connection without answering");
  });

  it("answers 504 when the app takes too long to start its response", async () => {
    const started = Date.now();
    const r = await send(router.port, "slow.paas.test", { path: "/?delay=4000" });
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(r.body).toContain("slow took too long to respond");
  });

  it("writes an access log line per request", async () => {
    await send(router.port, "alpha.paas.test", { path: "/logged" });
    const line = logs.find((l) => l.ctx?.path === "/logged");
    expect(line?.ctx).toMatchObject({
      method: "GET",
      host: "alpha.paas.test",
      status: 200,
      app: "alpha",
      backend: `127.0.0.1:${backends.b1.port}`,
    });
    expect(typeof line?.ctx?.serviceMs).toBe("number");
    expect(line?.msg).toMatch(
      /^at=info method=GET path="\/logged" host=alpha\.paas\.test request_id=\S+ fwd="127\.0\.0\.1" dyno=\S+ connect=\d+ms service=\d+ms status=200 bytes=\d+ protocol=http$/,
    );
    const miss = logs.find((l) => l.ctx?.host === "nobody.paas.test" && l.ctx?.status === 404);
    expect(miss?.msg).toContain('desc="No app at this host"');
  });

  it("close() lets a request in flight finish, then stops accepting", async () => {
    const second = await startRouter({
      settings,
      routes,
      subscriber: newSubscriber(),
      port: 0,
      host: "127.0.0.1",
    });
    const inFlight = send(second.port, "slow.paas.test", { path: "/?delay=300" });
    await pollUntil(
      async () => backends.slow.seen.some((s) => s.url === "/?delay=300"),
      (v) => v,
    );
    await second.close();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(nameOf(r)).toBe("slow");
    await expect(send(second.port, "alpha.paas.test")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
