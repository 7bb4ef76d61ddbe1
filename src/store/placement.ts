import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Swarm placement constraints per app and process type (`paas ps:placement web node.labels.zone==a`). */
export class PlacementStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string, type: string): Promise<string[]> {
    const raw = await this.redis.hget(this.keys.placement(app), type);
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  async all(app: string): Promise<Record<string, string[]>> {
    const h = await this.redis.hgetall(this.keys.placement(app));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as string[]]));
  }

  /** Replace a type's constraints; none clears them. */
  async set(app: string, type: string, constraints: string[]): Promise<void> {
    if (constraints.length === 0) await this.redis.hdel(this.keys.placement(app), type);
    else await this.redis.hset(this.keys.placement(app), type, JSON.stringify(constraints));
  }
}
