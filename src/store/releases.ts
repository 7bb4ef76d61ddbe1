import type { Redis } from "ioredis";
import type { AppJson } from "../app-json/app-json.js";
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

/** Numbered releases, one hash per app keyed by version. */
export class ReleasesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async create(app: string, data: Omit<Release, "version" | "createdAt" | "status">): Promise<Release> {
    const version = await this.redis.incr(this.keys.releaseSeq(app));
    const release: Release = { ...data, version, createdAt: new Date().toISOString(), status: "pending" };
    await this.redis.hset(this.keys.releases(app), String(version), JSON.stringify(release));
    return release;
  }

  async get(app: string, version: number): Promise<Release | null> {
    const raw = await this.redis.hget(this.keys.releases(app), String(version));
    return raw ? (JSON.parse(raw) as Release) : null;
  }

  async setStatus(app: string, version: number, status: ReleaseStatus): Promise<void> {
    const r = await this.get(app, version);
    if (!r) return;
    r.status = status;
    await this.redis.hset(this.keys.releases(app), String(version), JSON.stringify(r));
  }

  /** Newest first. */
  async list(app: string): Promise<Release[]> {
    const all = await this.redis.hvals(this.keys.releases(app));
    return all.map((r) => JSON.parse(r) as Release).sort((a, b) => b.version - a.version);
  }
}

export const releaseTag = (version: number) => `v${version}`;

export async function saveRelease(
  store: { redis: Redis; keys: Keys },
  app: string,
  release: Release,
): Promise<void> {
  await store.redis.hset(store.keys.releases(app), String(release.version), JSON.stringify(release));
}
