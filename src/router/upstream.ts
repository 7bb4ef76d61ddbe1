import type { Socket } from "node:net";
import { buildConnector, Pool } from "undici";
import type { Backend } from "../store/routes.js";
import type { RouteTable } from "./table.js";

// The router's connections to the apps, for plain HTTP: one undici Pool per backend (and
// connect timeout). undici's dispatch() costs about two thirds of node:http's
// http.request() per proxied request (measured: a bare proxy on each, 29 vs 43 us of CPU
// per request on loopback), which is why the router uses it. Websocket upgrades still go
// through node:http (http-proxy).
//
// Idle pooled connections close after 4 s, under the 5 s keep-alive of Node's http server
// (the most common app server here); undici also honours an app's `Keep-Alive: timeout=N`
// hint, less a second. An app with a shorter keep-alive and no hint still races it; the
// proxy retries an idempotent request whose connection closed before any answer, once on
// the same backend (failures.ts), so that race never reaches a client as a 502.

export interface PoolInfo {
  /** When the pool last opened a connection (performance.now()), and how long it took. */
  lastConnectAt: number;
  lastConnectMs: number;
}

interface Entry {
  pool: Pool;
  info: PoolInfo;
  backend: string;
}

export class UpstreamPools {
  private readonly pools = new Map<string, Entry>();
  private prunedFor: RouteTable | undefined;

  get(b: Backend, connectTimeoutMs: number): Entry {
    const key = `${b.host}:${b.port}/${connectTimeoutMs}`;
    let e = this.pools.get(key);
    if (e === undefined) {
      e = this.create(b, connectTimeoutMs);
      this.pools.set(key, e);
    }
    return e;
  }

  /** Close the pools of backends that left the table (after a deploy, say). Cheap to call per request. */
  prune(table: RouteTable): void {
    if (table === this.prunedFor) return;
    this.prunedFor = table;
    if (this.pools.size === 0) return;
    const live = new Set<string>();
    for (const entry of table.apps.values()) {
      for (const b of entry.backends) live.add(`${b.host}:${b.port}`);
      for (const b of entry.standby ?? []) live.add(`${b.host}:${b.port}`);
    }
    for (const [key, e] of this.pools) {
      if (live.has(e.backend)) continue;
      this.pools.delete(key);
      // Requests in flight finish; nothing new goes there.
      e.pool.close().catch(() => {});
    }
  }

  async destroy(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((e) => e.pool.destroy().catch(() => {})));
  }

  private create(b: Backend, connectTimeoutMs: number): Entry {
    const info: PoolInfo = { lastConnectAt: -1, lastConnectMs: 0 };
    const base = buildConnector({ timeout: connectTimeoutMs });
    const pool = new Pool(`http://${b.host}:${b.port}`, {
      pipelining: 1,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 600_000,
      keepAliveTimeoutThreshold: 1_000,
      // The proxy keeps its own clocks: first byte (deadlines.ts) and idle (per request).
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (opts, cb) => {
        const started = performance.now();
        base(opts, (err, socket) => {
          if (err || !socket) return cb(err ?? new Error("no connection"), null);
          info.lastConnectAt = performance.now();
          info.lastConnectMs = info.lastConnectAt - started;
          (socket as Socket).setNoDelay(true);
          cb(null, socket);
        });
      },
    });
    return { pool, info, backend: `${b.host}:${b.port}` };
  }
}

/** undici's error codes in the router's terms (failures.ts): a refused or timed-out connect, a reset. */
export function upstreamCode(err: Error & { code?: string }): string | undefined {
  switch (err.code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return "PAAS_CONNECT_TIMEOUT";
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return "ECONNRESET";
    case "UND_ERR_BODY_TIMEOUT":
      return "PAAS_IDLE";
    default:
      return err.code;
  }
}
