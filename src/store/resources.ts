import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Limits for one process type; absent fields fall back to the operator's defaults. */
export interface Limits {
  memory?: number;
  cpu?: number;
}

/** Per-app, per-process-type resource limits ("*" applies to every type). */
export class ResourcesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string): Promise<Record<string, Limits>> {
    const h = await this.redis.hgetall(this.keys.resources(app));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as Limits]));
  }

  async set(app: string, type: string, limits: Limits): Promise<void> {
    const current = (await this.get(app))[type] ?? {};
    await this.redis.hset(this.keys.resources(app), type, JSON.stringify({ ...current, ...limits }));
  }

  /** Put a type's limits back as they were (undefined: it had none of its own). */
  async replace(app: string, type: string, limits: Limits | undefined): Promise<void> {
    if (limits) await this.redis.hset(this.keys.resources(app), type, JSON.stringify(limits));
    else await this.redis.hdel(this.keys.resources(app), type);
  }
}

/** The limits a container of `type` gets. */
export function limitsFor(
  all: Record<string, Limits>,
  type: string,
  defaults: { memory: number },
): Required<Limits> {
  const merged = { ...all["*"], ...all[type] };
  return { memory: merged.memory ?? defaults.memory, cpu: merged.cpu ?? 0 };
}
