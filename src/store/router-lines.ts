import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { DRAIN_BACKLOG } from "./log-stream.js";

// Router access lines into each app's log stream, in the stream's own entry shape (fields
// ts, src, proc, msg, as log-stream.ts writes them; src=paas, proc=router), many lines per
// command. The router writes a line per request, and one XADD per line through ioredis
// cost the router process more than the rest of proxying a request: here a batch of one
// app's lines is one EVALSHA, and Redis adds the entries and trims the stream to its cap.

// KEYS as log-stream.ts's script: the stream, its drain backlog, the "has drains" flag and the
// backlog's line counter; ARGV[1] the cap, ARGV[2] the backlog's, then ts, msg per line. A
// drained app's router lines also go to its backlog, numbered, so drains get them too.
const APPEND = `
local count = (#ARGV - 2) / 2
local drained = redis.call('EXISTS', KEYS[3]) == 1
local n = 0
if drained then n = redis.call('INCRBY', KEYS[4], count) - count end
for i = 3, #ARGV, 2 do
  redis.call('XADD', KEYS[1], '*', 'ts', ARGV[i], 'src', 'paas', 'proc', 'router', 'msg', ARGV[i + 1])
  if drained then
    n = n + 1
    redis.call('XADD', KEYS[2], '*', 'ts', ARGV[i], 'src', 'paas', 'proc', 'router', 'msg', ARGV[i + 1], 'n', string.format('%d', n))
  end
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1])
if drained then redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[2])) end
return count`;

type Keys4 = [stream: string, backlog: string, drained: string, seq: string];

type WithAppend = Redis & {
  paasRouterLines(...keysCapsAndLines: (string | number)[]): Promise<number>;
};

export class RouterLinesStore {
  private readonly redis: WithAppend;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    /** Lines kept per app: the log stream's cap (PAAS_LOG_LINES). */
    private readonly cap: number,
  ) {
    if (!("paasRouterLines" in redis))
      redis.defineCommand("paasRouterLines", { numberOfKeys: 4, lua: APPEND });
    this.redis = redis as WithAppend;
  }

  private keysOf(app: string): Keys4 {
    return [
      this.keys.appLog(app),
      this.keys.drainBacklog(app),
      this.keys.drained(app),
      this.keys.drainSeq(app),
    ];
  }

  /** app -> flat [ts, message, ts, message, ...], oldest first; one round trip for all. */
  async append(batch: Map<string, string[]>): Promise<void> {
    if (batch.size === 0) return;
    if (batch.size === 1) {
      const [[app, lines]] = batch;
      await this.redis.paasRouterLines(...this.keysOf(app), this.cap, DRAIN_BACKLOG, ...lines);
      return;
    }
    const p = this.redis.pipeline() as unknown as {
      paasRouterLines(...args: (string | number)[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    for (const [app, lines] of batch)
      p.paasRouterLines(...this.keysOf(app), this.cap, DRAIN_BACKLOG, ...lines);
    const results = await p.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}
