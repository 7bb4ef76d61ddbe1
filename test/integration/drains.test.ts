import { execFile } from "node:child_process";
import crypto from "node:crypto";
import dgram from "node:dgram";
import fsp from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrainShipper } from "../../src/logs/drains/shipper.js";
import { StreamWriter } from "../../src/logs/writer.js";
import { parseAppName } from "../../src/names.js";
import { type Store, storeOver } from "../../src/store/index.js";
import { RouterLinesStore } from "../../src/store/router-lines.js";
import { freePort, REDIS_URL, sweep } from "../helpers/platform.js";

// Drains against receivers this test starts on loopback: TCP syslog (RFC 6587 octet
// counting), TLS syslog, UDP syslog, a Logplex HTTPS endpoint, and a dead one.

const run = promisify(execFile);
const RFC5424 = /^<190>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (\S+) (app|paas) (\S+) - - (.*)$/s;

/** Split an RFC 6587 octet-counted byte stream into messages. */
function octetFrames(buf: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(buf.subarray(i, sp).toString());
    if (sp + 1 + len > buf.length) break;
    out.push(buf.subarray(sp + 1, sp + 1 + len).toString("utf8"));
    i = sp + 1 + len;
  }
  return out;
}

async function until(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("log drains", () => {
  const ns = `t${crypto.randomBytes(4).toString("hex")}`;
  const app = parseAppName(`drained-${Date.now().toString(36)}`);
  let store: Store;
  let shipper: DrainShipper;
  let writer: StreamWriter;
  let dir = "";
  const tcpBytes: Buffer[] = [];
  const tlsBytes: Buffer[] = [];
  const udpMessages: string[] = [];
  const posts: { headers: IncomingHttpHeaders; body: string }[] = [];
  const servers: { close(): void }[] = [];
  const urls = { tcp: "", tls: "", udp: "", https: "", dead: "" };

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-drains-"));
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    const pem = { key: await fsp.readFile(key), cert: await fsp.readFile(cert) };

    const tcp = net.createServer((s) => s.on("data", (d: Buffer) => tcpBytes.push(d)));
    const tlsServer = tls.createServer(pem, (s) => s.on("data", (d: Buffer) => tlsBytes.push(d)));
    const httpsServer = https.createServer(pem, (req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        posts.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    const udp = dgram.createSocket("udp4");
    udp.on("message", (m) => udpMessages.push(m.toString("utf8")));
    for (const s of [tcp, tlsServer, httpsServer]) {
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
      servers.push(s);
    }
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
    servers.push(udp);
    const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
    urls.tcp = `syslog://127.0.0.1:${port(tcp)}`;
    urls.tls = `syslog+tls://127.0.0.1:${port(tlsServer)}`;
    urls.udp = `syslog+udp://127.0.0.1:${udp.address().port}`;
    urls.https = `https://user:pass@127.0.0.1:${port(httpsServer)}/logs?x=1`;
    // Nothing listens here: every attempt fails, and its small buffer overflows.
    urls.dead = `syslog://127.0.0.1:${await freePort()}`;

    store = storeOver(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), ns, { logLines: 1500 });
    await store.apps.create(app);
    for (const url of Object.values(urls)) {
      await store.drains.add(app, {
        url,
        token: `d.${crypto.randomUUID()}`,
        addedAt: new Date().toISOString(),
      });
    }
    writer = new StreamWriter(store.logs);
    shipper = new DrainShipper(store, [], () => {}, { ca: pem.cert.toString(), bufferLines: 1000 });
    shipper.start();
    // The shipper starts at the stream's end once it has seen the app's drains.
    await until("the shipper to pick up the drains", async () =>
      Boolean((await store.drains.cursors())[app]),
    );
  });

  afterAll(async () => {
    await shipper?.stop();
    for (const s of servers) s.close();
    store?.redis.disconnect();
    await sweep(ns);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it("sends every line to every drain, framed as Heroku does", async () => {
    const N = 300;
    for (let i = 1; i <= N; i++) writer.write(app, "app", "web.1", `line ${i} ünïcode`);
    writer.emit(app, "api", "Release v7 created");
    await writer.flush();
    const tokens = new Map((await store.drains.list(app)).map((d) => [d.url, d.token]));

    for (const [name, bytes, url] of [
      ["tcp", tcpBytes, urls.tcp],
      ["tls", tlsBytes, urls.tls],
    ] as const) {
      await until(`${name} to get every line`, () => octetFrames(Buffer.concat(bytes)).length === N + 1);
      const frames = octetFrames(Buffer.concat(bytes));
      const first = RFC5424.exec(frames[0]);
      expect(first?.slice(1)).toEqual([tokens.get(url), "app", "web.1", "line 1 ünïcode"]);
      expect(RFC5424.exec(frames[N])?.slice(2)).toEqual(["paas", "api", "Release v7 created"]);
      expect(frames.map((f) => RFC5424.exec(f)?.[4])).toEqual([
        ...Array.from({ length: N }, (_, i) => `line ${i + 1} ünïcode`),
        "Release v7 created",
      ]);
    }

    // UDP may lose datagrams under a burst (that is UDP): each one that arrives is one message.
    await until("udp to get lines", () => udpMessages.length > 0);
    expect(udpMessages.every((m) => RFC5424.test(m))).toBe(true);
    expect(RFC5424.exec(udpMessages[0])?.[4]).toMatch(/^line \d+ ünïcode$/);

    await until(
      "https to get every line",
      () => posts.reduce((n, p) => n + Number(p.headers["logplex-msg-count"]), 0) === N + 1,
    );
    const token = tokens.get(urls.https);
    const messages: string[] = [];
    for (const p of posts) {
      expect(p.headers["content-type"]).toBe("application/logplex-1");
      expect(p.headers["logplex-drain-token"]).toBe(token);
      expect(p.headers["logplex-frame-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(p.headers.authorization).toBe(`Basic ${Buffer.from("user:pass").toString("base64")}`);
      // `<len> <msg>` frames whose length counts the message and its newline, back to back.
      const body = Buffer.from(p.body);
      let i = 0;
      let count = 0;
      while (i < body.length) {
        const sp = body.indexOf(0x20, i);
        const len = Number(body.subarray(i, sp).toString());
        const msg = body.subarray(sp + 1, sp + 1 + len).toString("utf8");
        expect(msg.endsWith("\n")).toBe(true);
        expect(msg).toMatch(/^<190>1 \S+ host (app|paas) \S+ - /);
        messages.push(msg.replace(/^<190>1 \S+ host (app|paas) \S+ - /, "").replace(/\n$/, ""));
        i = sp + 1 + len;
        count++;
      }
      expect(count).toBe(Number(p.headers["logplex-msg-count"]));
    }
    expect(messages).toEqual([
      ...Array.from({ length: N }, (_, i) => `line ${i + 1} ünïcode`),
      "Release v7 created",
    ]);
  });

  it("counts a dead drain's drops and last error without holding back the others", async () => {
    // More than the dead drain's buffer (1000), in steps the shipper keeps up with.
    for (let round = 0; round < 4; round++) {
      for (let i = 1; i <= 250; i++) writer.write(app, "app", "worker.1", `more ${round}.${i}`);
      await writer.flush();
      await new Promise((r) => setTimeout(r, 200));
    }
    await until("the dead drain's drops to be recorded", async () => {
      const s = (await store.drains.stats(app)).get(urls.dead);
      return Boolean(s && s.dropped > 0 && s.lastError);
    });
    const stats = await store.drains.stats(app);
    const dead = stats.get(urls.dead);
    expect(dead?.delivered).toBe(0);
    expect(dead?.dropped).toBeGreaterThanOrEqual(1301 - 1000);
    expect(dead?.lastError).toMatch(/ECONNREFUSED/);
    // The live drains delivered everything (counted once the shipper reports).
    await until("the live drains' counts", async () => {
      const s = await store.drains.stats(app);
      return [urls.tcp, urls.tls, urls.https, urls.udp].every((u) => s.get(u)?.delivered === 1301);
    });
    for (const u of [urls.tcp, urls.tls, urls.https]) expect(stats.get(u)?.dropped ?? 0).toBe(0);
  });

  it("sends the router's access lines too (written by the router's batched store)", async () => {
    const lines = new RouterLinesStore(store.redis, store.keys, store.logs.cap);
    const access = `at=info method=GET path="/" host=${app}.paas.test status=200 marker=${crypto.randomUUID()}`;
    const ts = `${new Date().toISOString().slice(0, 23)}000+00:00`;
    await lines.append(new Map([[app, [ts, access]]]));
    await until("the access line at the tcp drain", () =>
      octetFrames(Buffer.concat(tcpBytes)).some((f) => f.endsWith(access)),
    );
    const frame = octetFrames(Buffer.concat(tcpBytes)).find((f) => f.endsWith(access)) ?? "";
    expect(RFC5424.exec(frame)?.slice(2)).toEqual(["paas", "router", access]);
    // And the app's own stream still has it once.
    const logged = (await store.logs.newest(app, 50)).filter(([, fields]) => fields.includes(access));
    expect(logged).toHaveLength(1);
  });
});
