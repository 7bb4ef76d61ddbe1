import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

// Router access lines into each app's log stream, in the stream's own entry shape (fields
// ts, src, proc, msg, as log-stream.ts writes them; src=paas, proc=router), many lines per
// command. The router writes a line per request, and one XADD per line through ioredis
// cost the router process more than the rest of proxying a request: here a batch of one
// app's lines is one EVALSHA, and Redis adds the entries and trims the stream to its cap.

const APPEND = `
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], '*', 'ts', ARGV[i], 'src', 'paas', 'proc', 'router', 'msg', ARGV[i + 1])
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1])
return (#ARGV - 1) / 2`;

type WithAppend = Redis & {
  paasRouterLines(key: string, cap: number, ...tsAndMessages: string[]): Promise<number>;
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
      redis.defineCommand("paasRouterLines", { numberOfKeys: 1, lua: APPEND });
    this.redis = redis as WithAppend;
  }

  /** app -> flat [ts, message, ts, message, ...], oldest first; one round trip for all. */
  async append(batch: Map<string, string[]>): Promise<void> {
    if (batch.size === 0) return;
    if (batch.size === 1) {
      const [[app, lines]] = batch;
      await this.redis.paasRouterLines(this.keys.appLog(app), this.cap, ...lines);
      return;
    }
    const p = this.redis.pipeline() as unknown as {
      paasRouterLines(key: string, cap: number, ...args: string[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    for (const [app, lines] of batch) p.paasRouterLines(this.keys.appLog(app), this.cap, ...lines);
    const results = await p.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}
