import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Wanted number of containers per process type. */
export type Formation = Record<string, number>;

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
}

/**
 * The formation for a release: keep the counts the user chose for types the release still
 * has; new types start at 1 (so a Procfile worker runs), except one-off types like release.
 */
export function formationFor(current: Formation, processTypes: Record<string, string>): Formation {
  const out: Formation = {};
  for (const type of Object.keys(processTypes)) {
    if (type === "release") continue;
    out[type] = current[type] ?? 1;
  }
  return out;
}
