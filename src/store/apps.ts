import type { Redis } from "ioredis";
import { conflict, notFound } from "../errors.js";
import type { AppName } from "../names.js";
import type { Keys } from "./keys.js";

export interface AppRecord {
  name: AppName;
  createdAt: string;
  /** Current release number (0: never deployed). */
  release: number;
  /** Forced builder, if any. */
  builder?: "dockerfile" | "buildpacks";
  /** Buildpacks set with `paas buildpacks:set` (in order). */
  buildpacks?: string[];
  /** Whether deploy checks are disabled. */
  checksDisabled?: boolean;
}

export class AppsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async create(name: AppName, now = new Date()): Promise<AppRecord> {
    // SADD is the atomic "claim the name" step; the record is written after.
    const added = await this.redis.sadd(this.keys.apps(), name);
    if (added === 0)
      throw conflict(`app "${name}" already exists; pick another name or use it with -a ${name}`);
    const record: AppRecord = { name, createdAt: now.toISOString(), release: 0 };
    await this.redis.hset(this.keys.app(name), { createdAt: record.createdAt, release: "0" });
    return record;
  }

  async get(name: AppName): Promise<AppRecord | null> {
    const h = await this.redis.hgetall(this.keys.app(name));
    if (!h.createdAt) return null;
    return {
      name,
      createdAt: h.createdAt,
      release: Number(h.release ?? 0),
      builder: (h.builder || undefined) as AppRecord["builder"],
      buildpacks: h.buildpacks ? (JSON.parse(h.buildpacks) as string[]) : undefined,
      checksDisabled: h.checksDisabled === "1",
    };
  }

  async require(name: AppName): Promise<AppRecord> {
    const app = await this.get(name);
    if (!app) throw notFound(`app "${name}" not found; list your apps with \`paas apps\``);
    return app;
  }

  async list(): Promise<AppName[]> {
    return ((await this.redis.smembers(this.keys.apps())) as AppName[]).sort();
  }

  async setCurrentRelease(name: AppName, release: number): Promise<void> {
    await this.redis.hset(this.keys.app(name), "release", String(release));
  }

  async update(
    name: AppName,
    patch: { builder?: string | null; buildpacks?: string[] | null; checksDisabled?: boolean },
  ): Promise<void> {
    const key = this.keys.app(name);
    const m = this.redis.multi();
    if (patch.builder !== undefined) {
      if (patch.builder === null) m.hdel(key, "builder");
      else m.hset(key, "builder", patch.builder);
    }
    if (patch.buildpacks !== undefined) {
      if (patch.buildpacks === null || patch.buildpacks.length === 0) m.hdel(key, "buildpacks");
      else m.hset(key, "buildpacks", JSON.stringify(patch.buildpacks));
    }
    if (patch.checksDisabled !== undefined) m.hset(key, "checksDisabled", patch.checksDisabled ? "1" : "0");
    await m.exec();
  }

  /**
   * Claim the one run of app.json scripts.postdeploy (after the first deploy): true the first
   * time only, so a failed or interrupted run is never repeated (as Dokku does).
   */
  async claimPostdeployOnce(name: AppName): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.app(name), "postdeployOnce", new Date().toISOString())) === 1;
  }

  /** Remove every key that belongs to the app. */
  async destroy(name: AppName): Promise<void> {
    const k = this.keys;
    await this.redis
      .multi()
      .srem(k.apps(), name)
      .del(
        k.app(name),
        k.config(name),
        k.releases(name),
        k.releaseSeq(name),
        k.formation(name),
        k.formationExplicit(name),
        k.unready(name),
        k.appLog(name),
        k.drains(name),
        k.drainStats(name),
        k.drainBacklog(name),
        k.drainSeq(name),
        k.drained(name),
        k.metrics(name),
        k.runSeq(name),
        k.cronLast(name),
        // Limits set with resources:set: an app created later under this name starts clean.
        k.resources(name),
      )
      .exec();
  }
}
