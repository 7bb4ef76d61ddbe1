import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Config vars: one Redis hash per app. Values are secrets: never logged. */
export class ConfigStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.config(app));
  }

  /** Apply sets and unsets (null) in one transaction; returns the new config. */
  async apply(app: string, changes: Record<string, string | null>): Promise<Record<string, string>> {
    const key = this.keys.config(app);
    const m = this.redis.multi();
    const sets: Record<string, string> = {};
    const unsets: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) unsets.push(k);
      else sets[k] = v;
    }
    if (Object.keys(sets).length > 0) m.hset(key, sets);
    if (unsets.length > 0) m.hdel(key, ...unsets);
    m.hgetall(key);
    const res = await m.exec();
    return (res?.[res.length - 1]?.[1] as Record<string, string>) ?? {};
  }

  /** Replace the whole config (rollback to a release's snapshot). */
  async replace(app: string, config: Record<string, string>): Promise<void> {
    const key = this.keys.config(app);
    const m = this.redis.multi().del(key);
    if (Object.keys(config).length > 0) m.hset(key, config);
    await m.exec();
  }
}
