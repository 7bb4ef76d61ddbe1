import type { Redis } from "ioredis";
import type { AppJson } from "../app-json/app-json.js";
import type { ConfigStore } from "./config-vars.js";
import type { Formation } from "./formation.js";
import type { Keys } from "./keys.js";

export type ReleaseStatus = "pending" | "succeeded" | "failed";

export interface Release {
  version: number;
  /** Image reference, e.g. paas/myapp:v3 (null for a config change before any deploy). */
  image: string | null;
  commit: string | null;
  config: Record<string, string>;
  /** Process type -> command ("" = the image's own CMD). */
  processTypes: Record<string, string>;
  /** Port the web process listens on. */
  port: number;
  description: string;
  user: string;
  createdAt: string;
  status: ReleaseStatus;
  /** Build or release job whose log belongs to this release. */
  buildId?: string;
  /** app.json health checks and scripts, read at build time. */
  appJson?: AppJson;
  /** The formation this release ran with (set when it went live). */
  formation?: Formation;
}

/**
 * Numbered releases, one hash per app keyed by version. The config snapshot's values are
 * sealed the way the live config's are (the config store seals and opens them).
 */
export class ReleasesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: ConfigStore,
  ) {}

  async create(app: string, data: Omit<Release, "version" | "createdAt" | "status">): Promise<Release> {
    const version = await this.redis.incr(this.keys.releaseSeq(app));
    const release: Release = { ...data, version, createdAt: new Date().toISOString(), status: "pending" };
    await this.save(app, release);
    return release;
  }

  async get(app: string, version: number): Promise<Release | null> {
    const raw = await this.redis.hget(this.keys.releases(app), String(version));
    return raw ? this.open(raw) : null;
  }

  async setStatus(app: string, version: number, status: ReleaseStatus): Promise<void> {
    const raw = await this.redis.hget(this.keys.releases(app), String(version));
    if (!raw) return;
    const r = JSON.parse(raw) as Release;
    r.status = status;
    await this.redis.hset(this.keys.releases(app), String(version), JSON.stringify(r));
  }

  /** Newest first. */
  async list(app: string): Promise<Release[]> {
    const all = await this.redis.hvals(this.keys.releases(app));
    return all.map((r) => this.open(r)).sort((a, b) => b.version - a.version);
  }

  /** Write a release (its config sealed). */
  async save(app: string, release: Release): Promise<void> {
    const stored: Release = { ...release, config: this.config.sealAll(release.config ?? {}) };
    await this.redis.hset(this.keys.releases(app), String(release.version), JSON.stringify(stored));
  }

  private open(raw: string): Release {
    const r = JSON.parse(raw) as Release;
    r.config = this.config.openAll(r.config ?? {});
    return r;
  }
}

export const releaseTag = (version: number) => `v${version}`;

export async function saveRelease(
  store: { releases: ReleasesStore },
  app: string,
  release: Release,
): Promise<void> {
  await store.releases.save(app, release);
}
