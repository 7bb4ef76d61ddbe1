import crypto from "node:crypto";
import dgram from "node:dgram";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { messageOf } from "../../errors.js";
import type { LogLine } from "../line.js";
import { logplexFrame, octetFrame, syslogMessage } from "./frame.js";
import type { DrainTarget } from "./url.js";

/** Lines a drain holds while its receiver is slow or away; beyond that the oldest are dropped. */
export const DRAIN_BUFFER = 10_000;
const HTTPS_BATCH = 500;
const TIMEOUT_MS = 10_000;

export interface DrainOptions {
  /** Lines held while the receiver is slow or away (default DRAIN_BUFFER). */
  bufferLines?: number;
  /** Extra CA certificates (PEM) to trust for TLS and HTTPS receivers; else the system's. */
  ca?: string;
}

export interface DrainCounters {
  delivered: number;
  dropped: number;
  error?: string;
}

/**
 * One drain: a bounded buffer and its own sending loop with exponential backoff. push()
 * never waits, so a dead or slow receiver costs only its own buffer, never the stream or
 * the other drains.
 */
export class Drain {
  private buffer: { line: LogLine; host: string; seq: number }[] = [];
  private seq = 0;
  private wake: (() => void) | null = null;
  private closed = false;
  private socket: net.Socket | null = null;
  private udp: dgram.Socket | null = null;
  private agent: http.Agent | null = null;
  private counters: DrainCounters = { delivered: 0, dropped: 0 };

  constructor(
    readonly target: DrainTarget,
    readonly token: string,
    private readonly opts: DrainOptions = {},
  ) {
    void this.loop();
  }

  push(line: LogLine, host: string): void {
    if (this.closed) return;
    this.buffer.push({ line, host, seq: ++this.seq });
    const max = this.opts.bufferLines ?? DRAIN_BUFFER;
    if (this.buffer.length > max) {
      const over = this.buffer.length - max;
      this.buffer.splice(0, over);
      this.counters.dropped += over;
    }
    this.wake?.();
  }

  /** Lines that never reached this drain's buffer (the backlog lost them). */
  lost(n: number): void {
    this.counters.dropped += n;
  }

  /** Counts since the last call (the shipper adds them up in Redis). */
  take(): DrainCounters {
    const c = this.counters;
    this.counters = { delivered: 0, dropped: 0 };
    return c;
  }

  close(): void {
    this.closed = true;
    this.wake?.();
    this.socket?.destroy();
    this.udp?.close();
    this.agent?.destroy();
  }

  private async loop(): Promise<void> {
    let backoff = 250;
    while (!this.closed) {
      if (this.buffer.length === 0) {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = null;
        continue;
      }
      const batch = this.buffer.slice(0, this.target.kind.startsWith("http") ? HTTPS_BATCH : 2000);
      try {
        await this.send(batch);
        // What was sent leaves the buffer (its front may have been dropped meanwhile).
        const last = batch[batch.length - 1].seq;
        const keep = this.buffer.findIndex((b) => b.seq > last);
        this.buffer.splice(0, keep === -1 ? this.buffer.length : keep);
        this.counters.delivered += batch.length;
        backoff = 250;
      } catch (err) {
        this.counters.error = `${new Date().toISOString()} ${messageOf(err)}`;
        this.socket?.destroy();
        this.socket = null;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  private send(batch: { line: LogLine; host: string }[]): Promise<void> {
    const k = this.target.kind;
    if (k === "https" || k === "http") return this.post(batch);
    if (k === "syslog+udp") return this.datagrams(batch);
    return this.stream(batch.map((b) => octetFrame(syslogMessage(b.line, b.host))).join(""));
  }

  private async stream(text: string): Promise<void> {
    const sock = this.socket ?? (await this.connect());
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      sock.once("error", onError);
      sock.write(text, (err) => {
        sock.off("error", onError);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private connect(): Promise<net.Socket> {
    const { host, port } = this.target;
    return new Promise((resolve, reject) => {
      const secure = this.target.kind === "syslog+tls";
      const sock = secure
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ca: this.caList() })
        : net.connect({ host, port });
      const timer = setTimeout(
        () => sock.destroy(new Error(`connecting to ${host}:${port} timed out`)),
        TIMEOUT_MS,
      );
      sock.once(secure ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        sock.setKeepAlive(true);
        sock.on("error", () => {});
        sock.on("close", () => {
          if (this.socket === sock) this.socket = null;
        });
        // Receivers do not talk back; read and discard so the socket never stalls.
        sock.resume();
        this.socket = sock;
        resolve(sock);
      });
      sock.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** The system's CAs plus the extra ones (giving `ca` alone would replace the system's). */
  private caList(): string[] | undefined {
    return this.opts.ca ? [...tls.rootCertificates, this.opts.ca] : undefined;
  }

  private async datagrams(batch: { line: LogLine; host: string }[]): Promise<void> {
    if (!this.udp) {
      this.udp = dgram.createSocket(net.isIPv6(this.target.host) ? "udp6" : "udp4");
      this.udp.on("error", () => {});
    }
    const udp = this.udp;
    for (const b of batch) {
      await new Promise<void>((resolve, reject) =>
        udp.send(syslogMessage(b.line, b.host), this.target.port, this.target.host, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    }
  }

  private post(batch: { line: LogLine }[]): Promise<void> {
    const secure = this.target.kind === "https";
    const mod = secure ? https : http;
    this.agent ??= secure
      ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: this.caList() })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = batch.map((b) => logplexFrame(b.line)).join("");
    const url = new URL(this.target.url);
    return new Promise((resolve, reject) => {
      const req = mod.request(
        {
          method: "POST",
          host: this.target.host,
          port: this.target.port,
          path: `${url.pathname}${url.search}`,
          agent: this.agent as http.Agent,
          auth: url.username
            ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
            : undefined,
          headers: {
            "Content-Type": "application/logplex-1",
            "Content-Length": Buffer.byteLength(body),
            "Logplex-Msg-Count": String(batch.length),
            "Logplex-Frame-Id": crypto.randomUUID(),
            "Logplex-Drain-Token": this.token,
            "User-Agent": "Logplex/v72 (paas)",
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`the drain answered ${status}`));
          });
        },
      );
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
      req.on("error", reject);
      req.end(body);
    });
  }
}
