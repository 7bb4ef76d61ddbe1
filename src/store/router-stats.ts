import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** What one router process publishes about itself every few seconds (for /metrics). */
export interface RouterStatsSnapshot {
  /** host:pid:n, unique per process. */
  worker: string;
  pid: number;
  /** ms since the epoch, when it was taken. */
  at: number;
  /** Requests since the process started, by app, by status. */
  requests: Record<string, Record<string, number>>;
  /** Cumulative counts per bucket (router/metrics.ts LATENCY_BUCKETS, then +Inf). */
  latency: { buckets: number[]; sum: number; count: number };
  apps: number;
  hosts: number;
  /** host:port of every backend in its table, and those it holds down or ejected. */
  backends: string[];
  unhealthy: string[];
}

/** A snapshot older than this is from a process that is gone. */
export const STALE_MS = 30_000;

/** One hash: worker id -> its latest snapshot (JSON). */
export class RouterStatsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async publish(s: RouterStatsSnapshot): Promise<void> {
    await this.redis.hset(this.keys.routerStats(), s.worker, JSON.stringify(s));
  }

  async remove(worker: string): Promise<void> {
    await this.redis.hdel(this.keys.routerStats(), worker);
  }

  /** Every live process's snapshot; stale ones are deleted on the way. */
  async all(now = Date.now()): Promise<RouterStatsSnapshot[]> {
    const raw = await this.redis.hgetall(this.keys.routerStats());
    const live: RouterStatsSnapshot[] = [];
    const stale: string[] = [];
    for (const [worker, json] of Object.entries(raw)) {
      try {
        const s = JSON.parse(json) as RouterStatsSnapshot;
        if (now - s.at <= STALE_MS) live.push(s);
        else stale.push(worker);
      } catch {
        stale.push(worker);
      }
    }
    if (stale.length > 0) await this.redis.hdel(this.keys.routerStats(), ...stale);
    return live;
  }
}
