import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { renderMetrics } from "../../src/api/metrics.js";
import { loadSettings } from "../../src/config.js";
import { type AccessRecord, type Router, StreamAccessSink, startRouter } from "../../src/router/index.js";
import { storeOver } from "../../src/store/index.js";
import { RouterLinesStore } from "../../src/store/router-lines.js";
import { RouterSettingsStore } from "../../src/store/router-settings.js";
import { RouterStatsStore } from "../../src/store/router-stats.js";
import { parsePrometheus } from "../helpers/prometheus.js";

// The router's data path against real node:http (and ws) upstreams on loopback, routes and
// per-app settings in a real Redis, access lines into the app's real log stream.

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";
const NS = `test-rproxy-${randomBytes(4).toString("hex")}`;
const DOMAIN = "paas.test";
const MB = 1024 * 1024;

interface Upstream {
  port: number;
  server: http.Server;
  connections: number;
  close(): Promise<void>;
}

/** node:http upstream; `handler` answers. Counts the connections it accepted. */
async function upstream(
  handler: http.RequestListener,
  tune: (s: http.Server) => void = () => {},
): Promise<Upstream> {
  const server = http.createServer(handler);
  tune(server);
  const u: Upstream = {
    port: 0,
    server,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on("connection", () => u.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  u.port = (server.address() as AddressInfo).port;
  return u;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request through the router; `body` may be a stream. A fresh connection unless `agent`. */
function send(
  port: number,
  host: string,
  o: {
    path?: string;
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Readable;
    agent?: http.Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: o.path ?? "/",
        method: o.method ?? "GET",
        headers: { host, ...o.headers },
        agent: o.agent ?? false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error("test request timed out")));
    req.on("error", reject);
    if (o.body instanceof Readable) o.body.pipe(req);
    else req.end(o.body);
  });
}

/** `total` bytes from one reused 64 KiB buffer: nothing in the test holds the body. */
function generated(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 120);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

async function pollUntil<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Peak RSS growth over `work`, sampled every 20ms. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - before;
}

describe("router proxying", () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  const subscriber = new Redis(REDIS_URL, { lazyConnect: true });
  const store = storeOver(redis, NS);
  const settingsStore = new RouterSettingsStore(redis, store.keys);
  const stats = new RouterStatsStore(redis, store.keys);
  const ups: Upstream[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const lines: Array<{ app: string; line: string; record: AccessRecord }> = [];
  const events: string[] = [];
  const pagesDir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-pages-"));
  let router: Router;
  let sink: StreamAccessSink;

  const put = async (app: string, ports: number[]) =>
    store.routes.put({
      app,
      backends: ports.map((port, i) => ({ host: "127.0.0.1", port, id: `${NS}.${app}.web.${i + 1}` })),
      domains: [],
    });
  const add = async (u: Promise<Upstream>) => {
    const got = await u;
    ups.push(got);
    return got;
  };
  /** A route change reaches the router over pub/sub: wait until it answers as expected. */
  const settle = (host: string, ok: (r: Reply) => boolean) => pollUntil(() => send(router.port, host), ok);

  beforeAll(async () => {
    await redis.connect();
    await subscriber.connect();
    fs.writeFileSync(path.join(pagesDir, "404.njk"), "<p>operator's own 404 for {{ host }}</p>\n");
    const echo = await add(
      upstream((req, res) => {
        let n = 0;
        req.on("data", (c: Buffer) => {
          n += c.length;
        });
        req.on("end", () => {
          const delay = Number(new URL(req.url!, "http://x").searchParams.get("delay") ?? 0);
          setTimeout(
            () => res.end(JSON.stringify({ received: n, url: req.url, headers: req.headers })),
            delay,
          );
        });
      }),
    );
    echo.server.on("upgrade", (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws)),
    );
    wss.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
    await put("echo", [echo.port]);
    const inner = new StreamAccessSink(new RouterLinesStore(redis, store.keys, store.logs.cap));
    sink = inner;
    router = await startRouter({
      settings: loadSettings({ PAAS_NAMESPACE: NS, PAAS_DOMAIN: DOMAIN, PAAS_REDIS_URL: REDIS_URL }),
      routes: store.routes,
      subscriber,
      port: 0,
      host: "127.0.0.1",
      errorPagesDir: pagesDir,
      log: (msg) => void events.push(msg),
      stats: { store: stats, worker: "test:1", everyMs: 60_000 },
      sink: {
        write(app, line, record) {
          lines.push({ app, line, record });
          inner.write(app, line);
        },
        flush: () => inner.flush(),
      },
    });
  });

  afterAll(async () => {
    await router?.close();
    for (const u of ups) await u.close();
    wss.close();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${NS}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
    fs.rmSync(pagesDir, { recursive: true, force: true });
    subscriber.disconnect();
    redis.disconnect();
  });

  it("echoes websocket messages both ways", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}/chat`, { headers: { host: `echo.${DOMAIN}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const replies: string[] = [];
    const got = new Promise<void>((resolve) =>
      ws.on("message", (d) => {
        replies.push(d.toString());
        if (replies.length === 2) resolve();
      }),
    );
    ws.send("hello");
    ws.send("world");
    await got;
    expect(replies).toEqual(["hello", "world"]);
    ws.close();
  });

  it("streams a 200 MB upload and a 200 MB download with bounded memory", async () => {
    await settingsStore.update("echo", { maxBodyBytes: 300 * MB });
    await router.reload("echo");
    let received = -1;
    const up = await peakRssGrowth(async () => {
      const r = await send(router.port, `echo.${DOMAIN}`, {
        method: "POST",
        path: "/upload",
        headers: { "content-length": 200 * MB },
        body: generated(200 * MB),
      });
      expect(r.status).toBe(200);
      received = JSON.parse(r.body).received;
    });
    expect(received).toBe(200 * MB);
    const big = await add(
      upstream((_req, res) => {
        res.writeHead(200, { "content-length": 200 * MB });
        generated(200 * MB).pipe(res);
      }),
    );
    await put("big", [big.port]);
    await router.reload("big");
    let downloaded = 0;
    const down = await peakRssGrowth(async () => {
      await pollUntil(
        () =>
          new Promise<number>((resolve, reject) => {
            http
              .get(
                { host: "127.0.0.1", port: router.port, headers: { host: `big.${DOMAIN}` }, agent: false },
                (res) => {
                  if (res.statusCode !== 200) {
                    res.resume();
                    return resolve(res.statusCode ?? 0);
                  }
                  res.on("data", (c: Buffer) => {
                    downloaded += c.length;
                  });
                  res.on("end", () => resolve(200));
                },
              )
              .on("error", reject);
          }),
        (status) => status === 200,
      );
    });
    expect(downloaded).toBe(200 * MB);
    // Buffering either body whole would add 200 MB; backpressure keeps it to socket buffers.
    expect(up).toBeLessThan(100 * MB);
    expect(down).toBeLessThan(100 * MB);
  });

  it("answers 413 past the app's body size limit, by Content-Length or while chunked", async () => {
    await settingsStore.update("echo", { maxBodyBytes: 1 * MB });
    await router.reload("echo");
    const byLength = await send(router.port, `echo.${DOMAIN}`, { method: "POST", body: "x".repeat(2 * MB) });
    expect(byLength.status).toBe(413);
    expect(byLength.body).toContain("accepts request bodies up to 1m");
    expect(byLength.headers.connection).toBe("close");
    const chunked = await send(router.port, `echo.${DOMAIN}`, { method: "POST", body: generated(3 * MB) });
    expect(chunked.status).toBe(413);
    const under = await send(router.port, `echo.${DOMAIN}`, { method: "POST", body: generated(MB / 2) });
    expect(under.status).toBe(200);
    expect(JSON.parse(under.body).received).toBe(MB / 2);
    await settingsStore.update("echo", { maxBodyBytes: undefined });
    await router.reload("echo");
  });

  it("answers 504 past the app's first-byte timeout, and logs H12", async () => {
    await settingsStore.update("echo", { firstByteTimeoutMs: 300 });
    await router.reload("echo");
    const r = await send(router.port, `echo.${DOMAIN}`, { path: "/?delay=2000" });
    expect(r.status).toBe(504);
    expect(r.body).toContain("took too long to respond");
    const line = lines.find((l) => l.record.status === 504 && l.app === "echo");
    expect(line?.line).toMatch(/^at=error code=H12 desc="Request timeout" method=GET path="\/\?delay=2000" /);
    await settingsStore.update("echo", { firstByteTimeoutMs: undefined });
    await router.reload("echo");
    expect((await send(router.port, `echo.${DOMAIN}`, { path: "/?delay=500" })).status).toBe(200);
  });

  it("serves the maintenance page with Retry-After, and an operator's own pages", async () => {
    await settingsStore.update("echo", { maintenance: true });
    // Over the change feed, as in production (no reload() here).
    const r = await settle(`echo.${DOMAIN}`, (x) => x.status === 503);
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBe("600");
    expect(r.body).toContain("echo is down for maintenance");
    expect(lines.some((l) => l.line.startsWith('at=error code=H80 desc="Maintenance mode"'))).toBe(true);
    await settingsStore.update("echo", { maintenance: false });
    expect((await settle(`echo.${DOMAIN}`, (x) => x.status === 200)).status).toBe(200);
    const missing = await send(router.port, `nobody.${DOMAIN}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toBe(`<p>operator's own 404 for nobody.${DOMAIN}</p>\n`);
  });

  it("cuts a response that goes silent past the idle timeout (H15)", async () => {
    const stall = await add(
      upstream((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("partial");
      }),
    );
    await put("stall", [stall.port]);
    await settingsStore.update("stall", { idleTimeoutMs: 300 });
    await router.reload("stall");
    const outcome = await send(router.port, `stall.${DOMAIN}`).then(
      () => "ended",
      (err: Error) => err.message,
    );
    expect(outcome).toMatch(/aborted|socket hang up|ECONNRESET/);
    await pollUntil(
      async () => lines.some((l) => l.app === "stall" && l.record.code === "H15"),
      (v) => v,
    );
    expect(lines.some((l) => l.app === "stall" && l.line.includes('code=H15 desc="Idle connection"'))).toBe(
      true,
    );
  });

  it("loses no idempotent request when one of two backends dies mid-load", async () => {
    const handler: http.RequestListener = (_req, res) => setTimeout(() => res.end("ok"), 2);
    const a = await add(upstream(handler));
    const b = await add(upstream(handler));
    await put("pair", [a.port, b.port]);
    await router.reload("pair");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    let done = 0;
    const worker = async () => {
      for (let i = 0; i < 150; i++) {
        const r = await send(router.port, `pair.${DOMAIN}`, { agent });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        done++;
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    await pollUntil(
      async () => done,
      (n) => n >= 600,
    );
    await a.close();
    await load;
    agent.destroy();
    expect(Object.fromEntries(statuses)).toEqual({ 200: 16 * 150 });
  });

  it("never turns the keep-alive race with a Node backend into a 502", async () => {
    // A node:http app with a short keep-alive, behind a loopback shim that plays the race
    // out every time: the second request on any connection arrives just as the app "closes"
    // it (the shim hangs up instead of passing it on), as when an idle-close crosses a
    // request on the wire. Nothing of the request reached the app, so a GET can go again.
    const app = await add(
      upstream(
        (_req, res) => res.end("ok"),
        (s) => {
          // 2 s: about the shortest keep-alive Node's client honours (it reads the app's
          // `Keep-Alive: timeout=N` and keeps a connection for less than N - 1 seconds).
          s.keepAliveTimeout = 2_000;
        },
      ),
    );
    let hungUp = 0;
    const shim = net.createServer((client) => {
      const toApp = net.connect(app.port, "127.0.0.1");
      let requests = 0;
      client.on("data", (d) => {
        if (++requests === 2) {
          hungUp++;
          client.destroy();
          toApp.destroy();
          return;
        }
        toApp.write(d);
      });
      toApp.on("data", (d) => client.write(d));
      client.on("error", () => toApp.destroy());
      toApp.on("error", () => client.destroy());
      client.on("close", () => toApp.destroy());
      toApp.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => shim.listen(0, "127.0.0.1", resolve));
    try {
      await put("racy", [(shim.address() as AddressInfo).port]);
      await router.reload("racy");
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        statuses.push((await send(router.port, `racy.${DOMAIN}`)).status);
        // Now and then let the app's own keep-alive timeout close idle connections too.
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2_100));
      }
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(hungUp).toBeGreaterThan(10);
    } finally {
      shim.close();
    }
  });

  it("ejects backends that keep failing, then answers 503 at once", async () => {
    const gone = async () => {
      const u = await upstream(() => {});
      await u.close();
      return u.port;
    };
    await put("dead", [await gone(), await gone()]);
    await router.reload("dead");
    // Each request tries both (refused, then the other refused): 503 H10, a failure each.
    for (let i = 0; i < 3; i++) {
      const r = await send(router.port, `dead.${DOMAIN}`);
      expect(r.status).toBe(503);
    }
    expect(events.filter((e) => e.includes("of dead ejected for a cooldown"))).toHaveLength(2);
    const r = await send(router.port, `dead.${DOMAIN}`);
    expect(r.status).toBe(503);
    const last = lines.filter((l) => l.app === "dead").at(-1);
    expect(last?.line).toMatch(/^at=error code=H10 desc="No healthy backend \(all ejected\)"/);
    expect(last?.record.backend).toBeUndefined();
  });

  it("writes Heroku-style router lines into the app's log stream", async () => {
    const r = await send(router.port, `echo.${DOMAIN}`, {
      path: "/logged",
      headers: { "x-request-id": "trace-42" },
    });
    expect(r.status).toBe(200);
    await sink.flush();
    const entries = await pollUntil(
      () => store.logs.newest("echo", 50),
      (es) => es.some(([, f]) => f.join(" ").includes("request_id=trace-42")),
    );
    const fields = entries.map(([, f]) => Object.fromEntries(chunk(f)));
    const mine = fields.find((f) => f.msg.includes("request_id=trace-42"));
    expect(mine).toMatchObject({ src: "paas", proc: "router" });
    expect(mine?.msg).toMatch(
      /^at=info method=GET path="\/logged" host=echo\.paas\.test request_id=trace-42 fwd="127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=\d+ protocol=http$/,
    );
  });

  it("publishes counters that /metrics renders as Prometheus text", async () => {
    await router.publishStats();
    const snapshots = await stats.all();
    expect(snapshots.map((s) => s.worker)).toContain("test:1");
    const text = renderMetrics(
      snapshots,
      [{ app: "echo", notAfter: new Date(Date.now() + 10 * 86_400_000).toISOString() }],
      Date.now(),
    );
    const samples = parsePrometheus(text);
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value("paas_router_requests_total", { app: "echo", status: "200" })).toBeGreaterThan(0);
    expect(value("paas_router_requests_total", { app: "echo", status: "413" })).toBeGreaterThan(0);
    expect(value("paas_router_request_duration_seconds_count")).toBe(
      value("paas_router_request_duration_seconds_bucket", { le: "+Inf" }),
    );
    expect(value("paas_router_backends", { state: "up" })).toBeGreaterThan(0);
    expect(value("paas_router_table_apps")).toBeGreaterThanOrEqual(5);
    expect(value("paas_certificates", { days_left_le: "14" })).toBe(1);
    expect(value("paas_certificates", { days_left_le: "7" })).toBe(0);
  });
});

function chunk(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
