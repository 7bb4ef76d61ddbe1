import type { Redis } from "ioredis";
import type { ErrorCode } from "../errors.js";
import type { Keys } from "./keys.js";

export type BuildStatus = "queued" | "waiting" | "running" | "succeeded" | "failed";

export interface BuildRecord {
  id: string;
  app: string;
  seq: number;
  commit: string;
  status: BuildStatus;
  createdAt: string;
  release?: number;
  error?: string;
  url?: string;
}

/** One entry of a build's log stream: a line of output, or the final outcome. */
export type BuildLogEntry =
  | { type: "line"; text: string }
  | {
      type: "end";
      ok: boolean;
      message: string;
      url?: string;
      release?: number;
      /** What an operation job answers with (the new formation, what restarted...). */
      result?: unknown;
      /** A failed job's error code, so the API answers with the same status. */
      code?: ErrorCode;
    };

const LOG_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Build records and their logs. A log is a Redis stream, so the git receiver (maybe in
 * another process) can follow it line by line while the worker writes it.
 */
export class BuildsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Reserve the next sequence number for an app's build (push order). */
  async nextSeq(app: string): Promise<number> {
    return this.redis.incr(this.keys.buildSeq(app));
  }

  async save(b: BuildRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.build(b.id), JSON.stringify(b), "EX", LOG_TTL_SECONDS)
      .zadd(this.keys.builds(b.app), b.seq, b.id)
      .exec();
  }

  async get(id: string): Promise<BuildRecord | null> {
    const raw = await this.redis.get(this.keys.build(id));
    return raw ? (JSON.parse(raw) as BuildRecord) : null;
  }

  async update(id: string, patch: Partial<BuildRecord>): Promise<void> {
    const b = await this.get(id);
    if (b) await this.save({ ...b, ...patch });
  }

  async idAtSeq(app: string, seq: number): Promise<string | null> {
    const ids = await this.redis.zrangebyscore(this.keys.builds(app), String(seq), String(seq));
    return ids[0] ?? null;
  }

  /** The last sequence number whose build is finished (builds run in seq order). */
  async turn(app: string): Promise<number> {
    return Number((await this.redis.get(this.keys.buildTurn(app))) ?? 0);
  }

  /** Mark seq as finished, only if it is the one whose turn it was. */
  async finishTurn(app: string, seq: number): Promise<void> {
    const key = this.keys.buildTurn(app);
    // Compare-and-set: never move the turn backwards or skip ahead.
    await this.redis.eval(
      "local cur = tonumber(redis.call('GET', KEYS[1]) or '0'); if cur == tonumber(ARGV[1]) - 1 then redis.call('SET', KEYS[1], ARGV[1]) end; return 1",
      1,
      key,
      String(seq),
    );
  }

  async append(id: string, entry: BuildLogEntry): Promise<void> {
    const key = this.keys.buildLog(id);
    await this.redis.multi().xadd(key, "*", "e", JSON.stringify(entry)).expire(key, LOG_TTL_SECONDS).exec();
  }

  /** Entries after `after` (stream id), waiting up to blockMs for new ones. */
  async read(
    id: string,
    after: string,
    blockMs: number,
    client: Redis,
  ): Promise<{ last: string; entries: BuildLogEntry[] }> {
    const res = (await client.xread("BLOCK", blockMs, "STREAMS", this.keys.buildLog(id), after)) as
      | [string, [string, string[]][]][]
      | null;
    if (!res) return { last: after, entries: [] };
    let last = after;
    const entries: BuildLogEntry[] = [];
    for (const [, items] of res) {
      for (const [sid, fields] of items) {
        last = sid;
        entries.push(JSON.parse(fields[1]) as BuildLogEntry);
      }
    }
    return { last, entries };
  }

  async lines(id: string): Promise<string[]> {
    const items = (await this.redis.xrange(this.keys.buildLog(id), "-", "+")) as [string, string[]][];
    return items
      .map(([, f]) => JSON.parse(f[1]) as BuildLogEntry)
      .filter((e): e is { type: "line"; text: string } => e.type === "line")
      .map((e) => e.text);
  }

  /** A destroyed app's build records and logs; returns their ids (its queue jobs go too). */
  async removeApp(app: string): Promise<string[]> {
    const ids = await this.redis.zrange(this.keys.builds(app), "0", "-1");
    const m = this.redis.multi();
    for (const id of ids) m.del(this.keys.build(id), this.keys.buildLog(id));
    // The sequence and turn stay: a job of this app may still be finishing its turn (the
    // destroy job itself); that job ends them with forgetOrder.
    m.del(this.keys.builds(app));
    await m.exec();
    return ids;
  }

  /**
   * The app was destroyed by job `seq` and that job's turn is finished: its sequence and turn
   * go, unless a job of an app created again under the name was queued meanwhile (then the
   * order goes on from there).
   */
  async forgetOrder(app: string, seq: number): Promise<void> {
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end; return 1",
      2,
      this.keys.buildSeq(app),
      this.keys.buildTurn(app),
      String(seq),
    );
  }
}
