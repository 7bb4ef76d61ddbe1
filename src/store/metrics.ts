import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** One container's live figures, from the Docker stats API of the host that runs it. */
export interface ContainerMetrics {
  /** Container name or id as ps shows it. */
  container: string;
  /** Process: web.1 */
  process: string;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  /** When the collector read it (ISO). */
  at: string;
}

/** Seconds a published figure stays: a host that stops publishing stops showing. */
const TTL_SECONDS = 30;

/**
 * KEYS[1] the app's record, KEYS[2] its metrics; ARGV container, figures, TTL. Only while the
 * app exists: a reading taken as its containers stop must not outlive apps:destroy.
 */
const PUBLISH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1`;

/** Live metrics per app, so the API shows them without a Docker socket. */
export class MetricsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async publish(list: { app: string; m: ContainerMetrics }[]): Promise<void> {
    if (list.length === 0) return;
    const p = this.redis.pipeline();
    for (const { app, m } of list) {
      p.eval(
        PUBLISH,
        2,
        this.keys.app(app),
        this.keys.metrics(app),
        m.container,
        JSON.stringify(m),
        TTL_SECONDS,
      );
    }
    await p.exec();
  }

  async forget(app: string, container: string): Promise<void> {
    await this.redis.hdel(this.keys.metrics(app), container);
  }

  /** A destroyed app's figures. */
  async remove(app: string): Promise<void> {
    await this.redis.del(this.keys.metrics(app));
  }

  /** Fresh figures of the app's containers, by container name. */
  async get(app: string): Promise<Map<string, ContainerMetrics>> {
    const h = await this.redis.hgetall(this.keys.metrics(app));
    const oldest = Date.now() - TTL_SECONDS * 1000;
    const out = new Map<string, ContainerMetrics>();
    for (const [name, v] of Object.entries(h)) {
      const m = JSON.parse(v) as ContainerMetrics;
      if (Date.parse(m.at) >= oldest) out.set(name, m);
    }
    return out;
  }
}
