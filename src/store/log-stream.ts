import crypto from "node:crypto";
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/**
 * KEYS[1] the stream, KEYS[2] its drain backlog, KEYS[3] the "has drains" flag, KEYS[4] the
 * backlog's line counter, KEYS[5] the app's record; ARGV[1] the cap, ARGV[2] the backlog's, then ts, src, proc, msg per
 * line. A drained app's lines also go to the backlog, numbered (n), which the drain shipper
 * reads: a burst bigger than the cap between two of its reads would otherwise be trimmed
 * away before it shipped it, and a gap in the numbers is lines the backlog lost (counted).
 * Lines of an app that does not exist (any more) are dropped: the lines its containers write
 * as they stop arrive after apps:destroy deleted the stream, and would start it again for the
 * next app of that name. Checked here, in the same script, so no destroy can slip in between.
 */
const APPEND_SCRIPT = `
if redis.call('EXISTS', KEYS[5]) == 0 then return 0 end
local drained = redis.call('EXISTS', KEYS[3]) == 1
local n = 0
if drained then n = redis.call('INCRBY', KEYS[4], (#ARGV - 2) / 4) - (#ARGV - 2) / 4 end
for i = 3, #ARGV, 4 do
  redis.call('XADD', KEYS[1], '*', 'ts', ARGV[i], 'src', ARGV[i + 1], 'proc', ARGV[i + 2], 'msg', ARGV[i + 3])
  if drained then
    n = n + 1
    redis.call('XADD', KEYS[2], '*', 'ts', ARGV[i], 'src', ARGV[i + 1], 'proc', ARGV[i + 2], 'msg', ARGV[i + 3], 'n', string.format('%d', n))
  end
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', tonumber(ARGV[1]))
if drained then redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[2])) end
return 0`;
const APPEND_KEYS = 5;
const APPEND_SHA = crypto.createHash("sha1").update(APPEND_SCRIPT).digest("hex");
/** Lines per script call. */
const CHUNK = 500;
/** Lines a drained app's backlog keeps for the shipper. */
export const DRAIN_BACKLOG = 50_000;

/** A line as stored: flat fields of one stream entry. */
export interface StoredLine {
  ts: string;
  source: "app" | "paas";
  process: string;
  message: string;
}

/** A raw stream entry: id and its flat [k, v, k, v...] fields. */
export type Entry = [id: string, fields: string[]];

/** The app's stream as readers see it, or its drain backlog (the shipper's). */
export type Which = "log" | "drain";

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

  private readonly scriptSha = APPEND_SHA;

  private appendKeys(app: string): [string, string, string, string, string] {
    return [
      this.keys.appLog(app),
      this.keys.drainBacklog(app),
      this.keys.drained(app),
      this.keys.drainSeq(app),
      this.keys.app(app),
    ];
  }

  /** A destroyed app's stream and what goes with it (once its containers are gone). */
  async removeApp(app: string): Promise<void> {
    await this.redis.del(
      this.keys.appLog(app),
      this.keys.drainBacklog(app),
      this.keys.drained(app),
      this.keys.drainSeq(app),
    );
  }

  /** The app has no drains any more: its backlog goes. */
  async dropBacklog(app: string): Promise<void> {
    await this.redis.del(this.keys.drainBacklog(app), this.keys.drainSeq(app));
  }

  /** The shipper says an app has drains (for ttlMs): its lines go to its drain backlog too. */
  async markDrained(apps: string[], ttlMs: number): Promise<void> {
    if (apps.length === 0) return;
    const p = this.redis.pipeline();
    for (const app of apps) p.set(this.keys.drained(app), "1", "PX", ttlMs);
    await p.exec();
  }

  /**
   * Append lines of several apps in one round trip. Each app's lines go in one script call
   * (XADDs, then one exact XTRIM, so the cap holds): one command per app and batch instead of
   * one per line, which is most of the cost at tens of thousands of lines a second.
   */
  async append(batch: { app: string; line: StoredLine }[], cursors?: Map<string, string>): Promise<void> {
    if (batch.length === 0 && !cursors?.size) return;
    const byApp = new Map<string, string[]>();
    for (const { app, line } of batch) {
      let args = byApp.get(app);
      if (!args) {
        args = [String(this.cap)];
        byApp.set(app, args);
      }
      args.push(line.ts, line.source, line.process, line.message);
    }
    const p = this.redis.pipeline();
    for (const [app, args] of byApp) {
      // Bounded script calls: a huge batch must not block Redis for long.
      for (let i = 1; i < args.length; i += 4 * CHUNK) {
        p.evalsha(
          this.scriptSha,
          APPEND_KEYS,
          ...this.appendKeys(app),
          args[0],
          DRAIN_BACKLOG,
          ...args.slice(i, i + 4 * CHUNK),
        );
      }
    }
    // The cursors go in the same round trip, after the lines: a crash in between repeats
    // nothing and loses at most what was not yet written.
    if (cursors?.size) p.hset(this.keys.logCursors(), Object.fromEntries(cursors));
    let results = await p.exec();
    if (results?.some(([err]) => err && /NOSCRIPT/.test(String(err)))) {
      // First use on this Redis (or after SCRIPT FLUSH): load it, then send again.
      await this.redis.script("LOAD", APPEND_SCRIPT);
      const again = this.redis.pipeline();
      for (const [app, args] of byApp) {
        for (let i = 1; i < args.length; i += 4 * CHUNK) {
          again.evalsha(
            this.scriptSha,
            APPEND_KEYS,
            ...this.appendKeys(app),
            args[0],
            DRAIN_BACKLOG,
            ...args.slice(i, i + 4 * CHUNK),
          );
        }
      }
      if (cursors?.size) again.hset(this.keys.logCursors(), Object.fromEntries(cursors));
      results = await again.exec();
    }
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
  async lastId(app: string, which: Which = "log"): Promise<string> {
    const got = (await this.redis.xrevrange(this.keyOf(app, which), "+", "-", "COUNT", 1)) as Entry[];
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
    which: Which = "log",
  ): Promise<{ app: string; entries: Entry[] }[]> {
    if (ids.size === 0) return [];
    const apps = [...ids.keys()];
    const res = (await conn.xread(
      "COUNT",
      count,
      "BLOCK",
      blockMs,
      "STREAMS",
      ...apps.map((a) => this.keyOf(a, which)),
      ...apps.map((a) => ids.get(a) as string),
    )) as [string, Entry[]][] | null;
    if (!res) return [];
    const byKey = new Map(apps.map((a) => [this.keyOf(a, which), a]));
    return res.map(([key, entries]) => ({ app: byKey.get(key) ?? key, entries }));
  }

  private keyOf(app: string, which: Which): string {
    return which === "drain" ? this.keys.drainBacklog(app) : this.keys.appLog(app);
  }

  async cursor(containerId: string): Promise<string | null> {
    return this.redis.hget(this.keys.logCursors(), containerId);
  }

  async forgetCursor(containerId: string): Promise<void> {
    await this.redis.hdel(this.keys.logCursors(), containerId);
  }
}
