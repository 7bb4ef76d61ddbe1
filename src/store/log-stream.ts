import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** A line as stored: flat fields of one stream entry. */
export interface StoredLine {
  ts: string;
  source: "app" | "paas";
  process: string;
  message: string;
}

/** A raw stream entry: id and its flat [k, v, k, v...] fields. */
export type Entry = [id: string, fields: string[]];

/**
 * Each app's log: one capped Redis stream (entries ts, src, proc, msg), plus the collector's
 * per-container cursors. Writers batch; readers range or block on it, never on Docker.
 */
export class LogStreamStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Lines kept per app (PAAS_LOG_LINES). */
    readonly cap = 1500,
  ) {}

  /** Append lines of several apps in one round trip; exact MAXLEN so the cap holds. */
  async append(batch: { app: string; line: StoredLine }[], cursors?: Map<string, string>): Promise<void> {
    if (batch.length === 0 && !cursors?.size) return;
    const p = this.redis.pipeline();
    for (const { app, line } of batch) {
      p.xadd(
        this.keys.appLog(app),
        "MAXLEN",
        this.cap,
        "*",
        "ts",
        line.ts,
        "src",
        line.source,
        "proc",
        line.process,
        "msg",
        line.message,
      );
    }
    // The cursors go in the same round trip, after the lines: a crash in between repeats
    // nothing and loses at most what was not yet written.
    if (cursors?.size) p.hset(this.keys.logCursors(), Object.fromEntries(cursors));
    const results = await p.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** The newest `count` entries, oldest first. */
  async newest(app: string, count: number): Promise<Entry[]> {
    if (count <= 0) return [];
    const got = (await this.redis.xrevrange(this.keys.appLog(app), "+", "-", "COUNT", count)) as Entry[];
    return got.reverse();
  }

  /** Entries after `id` (exclusive), oldest first. */
  async after(app: string, id: string, count = 1000): Promise<Entry[]> {
    return (await this.redis.xrange(this.keys.appLog(app), `(${id}`, "+", "COUNT", count)) as Entry[];
  }

  /** Id of the newest entry ("0-0" for an empty stream): where a tail starts. */
  async lastId(app: string): Promise<string> {
    const got = (await this.redis.xrevrange(this.keys.appLog(app), "+", "-", "COUNT", 1)) as Entry[];
    return got[0]?.[0] ?? "0-0";
  }

  async length(app: string): Promise<number> {
    return this.redis.xlen(this.keys.appLog(app));
  }

  /**
   * Wait up to blockMs for entries after `ids` on one or more apps' streams, on a connection
   * of the caller's own (a blocked connection serves nobody else).
   */
  async read(
    conn: Redis,
    ids: Map<string, string>,
    blockMs: number,
    count = 1000,
  ): Promise<{ app: string; entries: Entry[] }[]> {
    if (ids.size === 0) return [];
    const apps = [...ids.keys()];
    const res = (await conn.xread(
      "COUNT",
      count,
      "BLOCK",
      blockMs,
      "STREAMS",
      ...apps.map((a) => this.keys.appLog(a)),
      ...apps.map((a) => ids.get(a) as string),
    )) as [string, Entry[]][] | null;
    if (!res) return [];
    const byKey = new Map(apps.map((a) => [this.keys.appLog(a), a]));
    return res.map(([key, entries]) => ({ app: byKey.get(key) ?? key, entries }));
  }

  async cursor(containerId: string): Promise<string | null> {
    return this.redis.hget(this.keys.logCursors(), containerId);
  }

  async forgetCursor(containerId: string): Promise<void> {
    await this.redis.hdel(this.keys.logCursors(), containerId);
  }
}
