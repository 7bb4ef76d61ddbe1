import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

export interface DrainRecord {
  url: string;
  /** Sent as Logplex-Drain-Token / the syslog host name, like Heroku's d.<uuid>. */
  token: string;
  addedAt: string;
}

export interface DrainStats {
  delivered: number;
  dropped: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** Per-app log drains, their delivery counters, and the shipper's cursors and lease. */
export class DrainsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async list(app: string): Promise<DrainRecord[]> {
    const h = await this.redis.hgetall(this.keys.drains(app));
    return Object.values(h)
      .map((v) => JSON.parse(v) as DrainRecord)
      .sort((a, b) => a.addedAt.localeCompare(b.addedAt));
  }

  /** False when the app already has this drain. */
  async add(app: string, drain: DrainRecord): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.drains(app), drain.url, JSON.stringify(drain))) === 1;
  }

  /** False when the app has no such drain. */
  async remove(app: string, url: string): Promise<boolean> {
    const removed = await this.redis.hdel(this.keys.drains(app), url);
    await this.redis.hdel(this.keys.drainStats(app), `delivered ${url}`, `dropped ${url}`, `error ${url}`);
    return removed === 1;
  }

  async stats(app: string): Promise<Map<string, DrainStats>> {
    const h = await this.redis.hgetall(this.keys.drainStats(app));
    const out = new Map<string, DrainStats>();
    const of = (url: string) => {
      let s = out.get(url);
      if (!s) {
        s = { delivered: 0, dropped: 0, lastError: null, lastErrorAt: null };
        out.set(url, s);
      }
      return s;
    };
    for (const [field, value] of Object.entries(h)) {
      const sp = field.indexOf(" ");
      const kind = field.slice(0, sp);
      const url = field.slice(sp + 1);
      if (kind === "delivered") of(url).delivered = Number(value);
      else if (kind === "dropped") of(url).dropped = Number(value);
      else if (kind === "error") {
        const e = JSON.parse(value) as { at: string; message: string };
        of(url).lastError = e.message;
        of(url).lastErrorAt = e.at;
      }
    }
    return out;
  }

  /** Add delivery counts (and the last error) of several drains in one round trip. */
  async record(
    updates: { app: string; url: string; delivered: number; dropped: number; error?: string }[],
  ): Promise<void> {
    if (updates.length === 0) return;
    const p = this.redis.pipeline();
    for (const u of updates) {
      const key = this.keys.drainStats(u.app);
      if (u.delivered) p.hincrby(key, `delivered ${u.url}`, u.delivered);
      if (u.dropped) p.hincrby(key, `dropped ${u.url}`, u.dropped);
      if (u.error)
        p.hset(key, `error ${u.url}`, JSON.stringify({ at: new Date().toISOString(), message: u.error }));
    }
    await p.exec();
  }

  async cursors(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.drainCursors());
  }

  async saveCursors(cursors: Map<string, string>): Promise<void> {
    if (cursors.size > 0) await this.redis.hset(this.keys.drainCursors(), Object.fromEntries(cursors));
  }

  /** Take or renew the lease of the one shipper among the platform's workers. */
  async lease(holder: string, ms: number): Promise<boolean> {
    const key = this.keys.drainLease();
    const got = await this.redis.set(key, holder, "PX", ms, "NX");
    if (got === "OK") return true;
    if ((await this.redis.get(key)) !== holder) return false;
    await this.redis.pexpire(key, ms);
    return true;
  }

  async release(holder: string): Promise<void> {
    if ((await this.redis.get(this.keys.drainLease())) === holder)
      await this.redis.del(this.keys.drainLease());
  }
}
