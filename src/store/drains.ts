import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { isSealed, type SecretBox } from "./secret-box.js";

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

/**
 * Per-app log drains, their delivery counters, and the shipper's cursors and lease. A drain
 * URL may hold credentials, so Redis holds it only sealed (secret-box.ts): drains are kept
 * by their token (field) with the sealed record (value), and counters by token too.
 */
export class DrainsStore {
  private box: SecretBox | null = null;
  /** url -> token per app, from the last list (counters are kept by token). */
  private tokens = new Map<string, Map<string, string>>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Set once at start-up. Without it (test stores) records stay plain. */
  useSecretBox(box: SecretBox): void {
    this.box = box;
  }

  async list(app: string): Promise<DrainRecord[]> {
    const h = await this.redis.hgetall(this.keys.drains(app));
    const list = Object.values(h)
      .map((v) => JSON.parse(this.open(v)) as DrainRecord)
      .sort((a, b) => a.addedAt.localeCompare(b.addedAt));
    this.tokens.set(app, new Map(list.map((d) => [d.url, d.token])));
    return list;
  }

  /** False when the app already has this drain. */
  async add(app: string, drain: DrainRecord): Promise<boolean> {
    if ((await this.list(app)).some((d) => d.url === drain.url)) return false;
    await this.redis.hset(this.keys.drains(app), drain.token, this.seal(JSON.stringify(drain)));
    this.tokens.get(app)?.set(drain.url, drain.token);
    return true;
  }

  /** False when the app has no such drain. */
  async remove(app: string, url: string): Promise<boolean> {
    const h = await this.redis.hgetall(this.keys.drains(app));
    const field = Object.keys(h).find((f) => (JSON.parse(this.open(h[f])) as DrainRecord).url === url);
    if (field === undefined) return false;
    const token = (JSON.parse(this.open(h[field])) as DrainRecord).token;
    await this.redis.hdel(this.keys.drains(app), field);
    await this.redis.hdel(
      this.keys.drainStats(app),
      `delivered ${token}`,
      `dropped ${token}`,
      `error ${token}`,
    );
    this.tokens.get(app)?.delete(url);
    return true;
  }

  /** Counters by drain URL. */
  async stats(app: string): Promise<Map<string, DrainStats>> {
    const [h, list] = await Promise.all([this.redis.hgetall(this.keys.drainStats(app)), this.list(app)]);
    const urlOf = new Map(list.map((d) => [d.token, d.url]));
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
      const url = urlOf.get(field.slice(sp + 1));
      if (url === undefined) continue;
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
    for (const u of updates) if (!this.tokens.get(u.app)?.has(u.url)) await this.list(u.app);
    const p = this.redis.pipeline();
    for (const u of updates) {
      const token = this.tokens.get(u.app)?.get(u.url);
      if (token === undefined) continue; // removed meanwhile
      const key = this.keys.drainStats(u.app);
      if (u.delivered) p.hincrby(key, `delivered ${token}`, u.delivered);
      if (u.dropped) p.hincrby(key, `dropped ${token}`, u.dropped);
      if (u.error)
        p.hset(key, `error ${token}`, JSON.stringify({ at: new Date().toISOString(), message: u.error }));
    }
    await p.exec();
  }

  /** Re-seal every record not sealed with the current key (and move plain url-keyed ones to tokens). */
  async reseal(app: string, isCurrent: (value: string) => boolean): Promise<number> {
    const key = this.keys.drains(app);
    const h = await this.redis.hgetall(key);
    let n = 0;
    for (const [field, value] of Object.entries(h)) {
      if (isCurrent(value)) continue;
      const record = JSON.parse(this.open(value)) as DrainRecord;
      const m = this.redis.multi();
      if (field !== record.token) m.hdel(key, field);
      await m.hset(key, record.token, this.seal(JSON.stringify(record))).exec();
      n++;
    }
    return n;
  }

  private seal(value: string): string {
    return this.box ? this.box.seal(value) : value;
  }

  private open(value: string): string {
    if (!isSealed(value)) return value;
    if (!this.box) throw new Error("drain URLs are sealed: this store was opened without the secrets key");
    return this.box.open(value);
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
