import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { isSealed, type SecretBox } from "./secret-box.js";

/**
 * Config vars: one Redis hash per app, each value sealed (secret-box.ts) so Redis holds no
 * value in clear. Values are secrets: never logged. A value from before sealing (plain) is
 * read as it is and sealed when next written or by the start-up migration (secrets.ts).
 */
export class ConfigStore {
  private box: SecretBox | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Set once at start-up. Without it (unit and integration test stores) values stay plain. */
  useSecretBox(box: SecretBox): void {
    this.box = box;
  }

  async get(app: string): Promise<Record<string, string>> {
    return this.openAll(await this.redis.hgetall(this.keys.config(app)));
  }

  /** Apply sets and unsets (null) in one transaction; returns the new config. */
  async apply(app: string, changes: Record<string, string | null>): Promise<Record<string, string>> {
    const key = this.keys.config(app);
    const m = this.redis.multi();
    const sets: Record<string, string> = {};
    const unsets: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) unsets.push(k);
      else sets[k] = this.seal(v);
    }
    if (Object.keys(sets).length > 0) m.hset(key, sets);
    if (unsets.length > 0) m.hdel(key, ...unsets);
    m.hgetall(key);
    const res = await m.exec();
    return this.openAll((res?.[res.length - 1]?.[1] as Record<string, string>) ?? {});
  }

  /** Replace the whole config (rollback to a release's snapshot). */
  async replace(app: string, config: Record<string, string>): Promise<void> {
    const key = this.keys.config(app);
    const m = this.redis.multi().del(key);
    if (Object.keys(config).length > 0) m.hset(key, this.sealAll(config));
    await m.exec();
  }

  seal(value: string): string {
    return this.box ? this.box.seal(value) : value;
  }

  open(value: string): string {
    if (!isSealed(value)) return value;
    if (!this.box) throw new Error("config values are sealed: this store was opened without the secrets key");
    return this.box.open(value);
  }

  sealAll(config: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, this.seal(v)]));
  }

  openAll(config: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, this.open(v)]));
  }
}
