import crypto from "node:crypto";
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

export const hashToken = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

/** The first admin's token: only its SHA-256 hash is stored (other users' tokens: users.ts; checks: auth/authenticate.ts). */
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
}
