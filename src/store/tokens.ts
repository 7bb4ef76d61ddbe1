import crypto from "node:crypto";
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

export const hashToken = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

/** API tokens: only their SHA-256 hashes are stored. */
export class TokensStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async adminHash(): Promise<string | null> {
    return this.redis.get(this.keys.adminTokenHash());
  }

  async setAdminHash(hash: string): Promise<void> {
    await this.redis.set(this.keys.adminTokenHash(), hash);
  }

  /** The user a token belongs to, or null. Constant-time compare against the admin hash. */
  async verify(token: string): Promise<string | null> {
    if (!token) return null;
    const want = await this.adminHash();
    if (!want) return null;
    const got = hashToken(token);
    const a = Buffer.from(want, "hex");
    const b = Buffer.from(got, "hex");
    return a.length === b.length && crypto.timingSafeEqual(a, b) ? "admin" : null;
  }
}
