import crypto from "node:crypto";
import type { Redis } from "ioredis";
import { conflict, notFound } from "../errors.js";
import type { Keys } from "./keys.js";
import { hashToken } from "./tokens.js";

// Users and their API tokens. Passwords arrive here already hashed (auth/passwords.ts);
// tokens are kept as SHA-256 hashes only, so a Redis dump hands out no credentials.

export type Role = "admin" | "user";

/** The platform's first admin: no record, its token is the one in $PAAS_DATA_DIR/admin-token. */
export const ADMIN_USER = "admin";

export interface PasswordRecord {
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
}

export interface UserRecord {
  email: string;
  role: Role;
  createdAt: string;
  password?: PasswordRecord;
}

export interface TokenRecord {
  id: string;
  user: string;
  hash: string;
  description: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt?: string;
}

/** What a presented token turned out to be. */
export type TokenLookup =
  | { ok: true; user: string; tokenId: string | null }
  | { ok: false; why: "unknown" | "revoked" | "expired"; at?: string };

export class UsersStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(email: string): Promise<UserRecord | null> {
    if (email === ADMIN_USER) return { email, role: "admin", createdAt: "" };
    const raw = await this.redis.hget(this.keys.users(), email);
    return raw ? (JSON.parse(raw) as UserRecord) : null;
  }

  async require(email: string): Promise<UserRecord> {
    const u = await this.get(email);
    if (!u) throw notFound(`no user ${email}: list users with \`paas users\``);
    return u;
  }

  async list(): Promise<UserRecord[]> {
    const all = await this.redis.hgetall(this.keys.users());
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as UserRecord)
      .sort((a, b) => a.email.localeCompare(b.email));
  }

  async add(email: string, role: Role, password?: PasswordRecord, now = new Date()): Promise<UserRecord> {
    const rec: UserRecord = { email, role, createdAt: now.toISOString(), ...(password ? { password } : {}) };
    if (
      email === ADMIN_USER ||
      (await this.redis.hsetnx(this.keys.users(), email, JSON.stringify(rec))) === 0
    )
      throw conflict(`user ${email} already exists`);
    return rec;
  }

  async setPassword(email: string, password: PasswordRecord): Promise<void> {
    const u = await this.require(email);
    if (email === ADMIN_USER) throw conflict("the admin user signs in with the admin token, not a password");
    await this.redis.hset(this.keys.users(), email, JSON.stringify({ ...u, password }));
  }

  /** Remove the user and revoke every token they had. */
  async remove(email: string): Promise<void> {
    await this.require(email);
    for (const t of await this.tokens(email)) await this.revoke(t.id);
    await this.redis.multi().hdel(this.keys.users(), email).del(this.keys.userTokens(email)).exec();
  }

  /** A new token for `user`: the secret is returned once and only its hash is kept. */
  async issueToken(
    user: string,
    opts: { description?: string; expiresAt?: Date | null } = {},
    now = new Date(),
  ): Promise<{ record: TokenRecord; token: string }> {
    const token = `paas_${crypto.randomBytes(32).toString("hex")}`;
    const record: TokenRecord = {
      id: `tok_${crypto.randomBytes(6).toString("hex")}`,
      user,
      hash: hashToken(token),
      description: opts.description ?? "",
      createdAt: now.toISOString(),
      expiresAt: opts.expiresAt ? opts.expiresAt.toISOString() : null,
    };
    await this.redis
      .multi()
      .hset(this.keys.tokens(), record.id, JSON.stringify(record))
      .hset(this.keys.tokenHashes(), record.hash, record.id)
      .sadd(this.keys.userTokens(user), record.id)
      .exec();
    return { record, token };
  }

  async token(id: string): Promise<TokenRecord | null> {
    const raw = await this.redis.hget(this.keys.tokens(), id);
    return raw ? (JSON.parse(raw) as TokenRecord) : null;
  }

  /** The user's live tokens (never revoked ones), oldest first. */
  async tokens(user: string): Promise<TokenRecord[]> {
    const ids = await this.redis.smembers(this.keys.userTokens(user));
    const recs = await Promise.all(ids.map((id) => this.token(id)));
    return recs
      .filter((t): t is TokenRecord => t !== null && !t.revokedAt)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revoke: the record stays (marked), so the token's next use gets "revoked", not "unknown". */
  async revoke(id: string, now = new Date()): Promise<TokenRecord> {
    const t = await this.token(id);
    if (!t || t.revokedAt) throw notFound(`no token ${id}: list yours with \`paas auth:tokens\``);
    const revoked = { ...t, revokedAt: now.toISOString() };
    await this.redis
      .multi()
      .hset(this.keys.tokens(), id, JSON.stringify(revoked))
      .srem(this.keys.userTokens(t.user), id)
      .exec();
    return revoked;
  }

  /** Who a presented token (by its hash) belongs to, and why not when it does not. */
  async lookup(hash: string, now = new Date()): Promise<TokenLookup> {
    const id = await this.redis.hget(this.keys.tokenHashes(), hash);
    const t = id ? await this.token(id) : null;
    if (!t) return { ok: false, why: "unknown" };
    if (t.revokedAt) return { ok: false, why: "revoked", at: t.revokedAt };
    if (t.expiresAt && Date.parse(t.expiresAt) <= now.getTime())
      return { ok: false, why: "expired", at: t.expiresAt };
    return { ok: true, user: t.user, tokenId: t.id };
  }
}
