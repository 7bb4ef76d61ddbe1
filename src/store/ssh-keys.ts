import crypto from "node:crypto";
import type { Redis } from "ioredis";
import ssh2 from "ssh2";
import { invalid } from "../errors.js";
import type { Keys } from "./keys.js";

// Users' SSH public keys: reading a key file (one clear line for anything else), its SHA256
// fingerprint (the form `ssh-keygen -lf` prints), and the records git over SSH checks.

export interface PublicKey {
  /** e.g. ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256 */
  type: string;
  /** The key blob, base64 (what the authorized_keys line holds). */
  blob: string;
  fingerprint: string;
  comment: string;
}

/** `SHA256:<base64 without padding>` of the key blob, as OpenSSH prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** One OpenSSH public key (an id_*.pub file's line); a clear error for anything else. */
export function parsePublicKey(text: string): PublicKey {
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== "" && !l.startsWith("#"));
  if (!line)
    throw invalid("the key file is empty: give the .pub file of your SSH key (e.g. ~/.ssh/id_ed25519.pub)");
  if (/PRIVATE KEY/.test(text))
    throw invalid("that is a private key: give its public half, the .pub file (e.g. ~/.ssh/id_ed25519.pub)");
  const parsed = ssh2.utils.parseKey(line);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.isPrivateKey()) {
    throw invalid(
      "not an SSH public key: give one line like `ssh-ed25519 AAAA... you@host` (the .pub file of your key)",
    );
  }
  const blob = key.getPublicSSH();
  const parts = line.split(/\s+/);
  return {
    type: key.type,
    blob: blob.toString("base64"),
    fingerprint: fingerprintOf(blob),
    comment: parts.slice(2).join(" "),
  };
}

/** A fingerprint as users type it: `SHA256:...` (the prefix may be left off). */
export function normalizeFingerprint(raw: string): string {
  const v = raw.trim();
  if (!/^(SHA256:)?[A-Za-z0-9+/]{43}$/.test(v))
    throw invalid(`"${raw}" is not a key fingerprint: use the SHA256:... form that \`paas keys\` shows`);
  return v.startsWith("SHA256:") ? v : `SHA256:${v}`;
}

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
