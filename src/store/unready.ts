import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

// Containers failing their app.json readiness checks, per app (a set of Docker container
// ids). The health monitor writes it; every route computation (deploy, scale, reconcile)
// leaves these containers out, so nothing puts a failing container back in the route.

export class UnreadyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async list(app: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.unready(app)));
  }

  async add(app: string, containerId: string): Promise<void> {
    await this.redis.sadd(this.keys.unready(app), containerId);
  }

  async remove(app: string, ...containerIds: string[]): Promise<void> {
    if (containerIds.length > 0) await this.redis.srem(this.keys.unready(app), ...containerIds);
  }
}

/** The app's unready container ids (for callers holding only the Store's redis and keys). */
export function unreadyIds(store: { redis: Redis; keys: Keys }, app: string): Promise<Set<string>> {
  return new UnreadyStore(store.redis, store.keys).list(app);
}
