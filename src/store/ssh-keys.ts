import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** A registered SSH public key; it belongs to the user who added it. */
export interface SshKeyRecord {
  fingerprint: string;
  type: string;
  /** The public key blob, base64. */
  blob: string;
  comment: string;
  /** The user it belongs to (the token's owner when it was added). */
  user: string;
  addedAt: string;
}

/** Users' SSH keys: one hash, fingerprint -> record (a key belongs to one user only). */
export class SshKeysStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private key(): string {
    return `${this.keys.ns}:ssh-keys`;
  }

  /** False when the key is already registered (to anyone). */
  async add(record: SshKeyRecord): Promise<boolean> {
    return (await this.redis.hsetnx(this.key(), record.fingerprint, JSON.stringify(record))) === 1;
  }

  async get(fingerprint: string): Promise<SshKeyRecord | null> {
    const raw = await this.redis.hget(this.key(), fingerprint);
    return raw ? (JSON.parse(raw) as SshKeyRecord) : null;
  }

  /** Every key, or one user's; oldest first. */
  async list(user?: string): Promise<SshKeyRecord[]> {
    const all = (await this.redis.hvals(this.key())).map((r) => JSON.parse(r) as SshKeyRecord);
    return all
      .filter((k) => user === undefined || k.user === user)
      .sort((a, b) => a.addedAt.localeCompare(b.addedAt));
  }

  async remove(fingerprint: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(), fingerprint)) === 1;
  }

  /** users:remove: every key of that user goes. */
  async removeUser(user: string): Promise<number> {
    const mine = await this.list(user);
    if (mine.length === 0) return 0;
    return this.redis.hdel(this.key(), ...mine.map((k) => k.fingerprint));
  }
}
