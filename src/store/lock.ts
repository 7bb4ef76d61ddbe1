import crypto from "node:crypto";
import type { Redis } from "ioredis";
import { PaasError } from "../errors.js";
import type { Keys } from "./keys.js";

/**
 * Per-app lock: deploys, scales and restarts of one app are serialized. The lock expires
 * if its holder dies (TTL), and is renewed while held.
 */
export class AppLock {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlMs = 30_000,
  ) {}

  async withLock<T>(app: string, fn: () => Promise<T>, waitMs = 15 * 60_000): Promise<T> {
    const key = this.keys.lock(app);
    const token = crypto.randomUUID();
    const deadline = Date.now() + waitMs;
    let delay = 50;
    while ((await this.redis.set(key, token, "PX", this.ttlMs, "NX")) !== "OK") {
      if (Date.now() > deadline) {
        throw new PaasError(
          "conflict",
          `app "${app}" is busy with another deploy or scale; try again shortly`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
    const renew = setInterval(() => {
      void this.redis
        .eval(
          "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
          1,
          key,
          token,
          String(this.ttlMs),
        )
        .catch(() => {});
    }, this.ttlMs / 3);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.redis
        .eval(
          "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
          1,
          key,
          token,
        )
        .catch(() => {});
    }
  }
}
