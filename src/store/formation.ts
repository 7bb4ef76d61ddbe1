import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Wanted number of containers per process type. */
export type Formation = Record<string, number>;

/** Types the user scaled by hand -> the app.json quantity declared when they did (null: none). */
export type ExplicitScales = Record<string, number | null>;

export class FormationStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string): Promise<Formation> {
    const h = await this.redis.hgetall(this.keys.formation(app));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  async set(app: string, formation: Formation): Promise<void> {
    const key = this.keys.formation(app);
    const m = this.redis.multi().del(key);
    if (Object.keys(formation).length > 0) {
      m.hset(key, Object.fromEntries(Object.entries(formation).map(([k, v]) => [k, String(v)])));
    }
    await m.exec();
  }

  /** Types scaled with ps:scale, and what app.json said then (see runtime/formation-rule.ts). */
  async explicit(app: string): Promise<ExplicitScales> {
    const h = await this.redis.hgetall(this.keys.formationExplicit(app));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v === "" ? null : Number(v)]));
  }

  async setExplicit(app: string, explicit: ExplicitScales): Promise<void> {
    const key = this.keys.formationExplicit(app);
    const m = this.redis.multi().del(key);
    if (Object.keys(explicit).length > 0) {
      m.hset(
        key,
        Object.fromEntries(Object.entries(explicit).map(([k, v]) => [k, v === null ? "" : String(v)])),
      );
    }
    await m.exec();
  }
}
