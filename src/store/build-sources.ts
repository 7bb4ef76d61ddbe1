import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** Largest source archive carried through Redis (bigger pushes build only where the archive is). */
export const MAX_SOURCE_BYTES = 100 * 1024 * 1024;
/** An archive no worker took within this long is dropped. */
const SOURCE_TTL_SECONDS = 3600;

/**
 * A push's `git archive`, carried through Redis so that a worker on another host (another
 * data dir) can build it; keyed by the archive's file name, which is random per push.
 */
export class BuildSourcesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** False when the archive is too large to carry. */
  async put(name: string, archive: Buffer): Promise<boolean> {
    if (archive.length > MAX_SOURCE_BYTES) return false;
    await this.redis.set(this.keys.buildSource(name), archive, "EX", SOURCE_TTL_SECONDS);
    return true;
  }

  async get(name: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.keys.buildSource(name));
  }

  async remove(name: string): Promise<void> {
    await this.redis.del(this.keys.buildSource(name));
  }
}
