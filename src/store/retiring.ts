import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** An old container out of the route, finishing its requests until `deadline` (epoch ms). */
export interface RetiringContainer {
  id: string;
  /** e.g. web.1 */
  slot: string;
  release: string;
  deadline: number;
}

/**
 * Containers of earlier deploys that are draining: one hash per app, container id -> record.
 * The record (not a process's timer) is what says "leave it alone until the deadline", so a
 * drain still ends after a platform restart and reconcile never mistakes a draining
 * container for a stray one.
 */
export class RetiringStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async list(app: string): Promise<RetiringContainer[]> {
    const h = await this.redis.hgetall(this.keys.retiring(app));
    return Object.values(h).map((v) => JSON.parse(v) as RetiringContainer);
  }

  async add(app: string, containers: RetiringContainer[]): Promise<void> {
    if (containers.length === 0) return;
    await this.redis.hset(
      this.keys.retiring(app),
      Object.fromEntries(containers.map((c) => [c.id, JSON.stringify(c)])),
    );
  }

  async done(app: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.hdel(this.keys.retiring(app), ...ids);
  }

  async forget(app: string): Promise<void> {
    await this.redis.del(this.keys.retiring(app));
  }
}
