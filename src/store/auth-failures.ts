import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/**
 * Failed logins and bad token checks per source address, in a fixed window: after `limit`
 * failures within `windowSeconds`, the address is refused until the window ends. One
 * counter for all kinds (API, git, dashboard, password logins), so spreading guesses over
 * doors does not help.
 */
export class AuthFailuresStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly limit = 10,
    readonly windowSeconds = 60,
  ) {}

  /** Seconds until `addr` may try again; 0 when it is not blocked. */
  async blockedFor(addr: string): Promise<number> {
    const key = this.keys.authFailures(addr);
    const res = await this.redis.multi().get(key).ttl(key).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    const ttl = Number(res?.[1]?.[1] ?? -2);
    if (count < this.limit) return 0;
    return ttl > 0 ? ttl : this.windowSeconds;
  }

  /** Count one failure; returns the seconds to wait when this one reached the limit, else 0. */
  async fail(addr: string): Promise<number> {
    const key = this.keys.authFailures(addr);
    const res = await this.redis.multi().incr(key).expire(key, this.windowSeconds, "NX").ttl(key).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    const ttl = Number(res?.[2]?.[1] ?? this.windowSeconds);
    return count >= this.limit ? Math.max(1, ttl) : 0;
  }
}
