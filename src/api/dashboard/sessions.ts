import crypto from "node:crypto";
import type { Store } from "../../store/index.js";

// Dashboard sessions live in Redis so they survive a restart and work when several API
// processes share one Redis. This is a deliberate exception to "Redis keys only in
// store/": the keys are the dashboard's private state, all under `${ns}:dashboard:`, and
// nothing else reads them. Only a hash of the session id is stored, so a Redis dump does
// not hand out logged-in cookies; the admin token itself is never kept.

export interface Session {
  id: string;
  user: string;
  /** Per-session CSRF token, sent back in a hidden field by every form. */
  csrf: string;
}

/** Idle timeout: every request that uses the session renews it. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

const ID = /^[A-Za-z0-9_-]{43}$/;
const randomId = () => crypto.randomBytes(32).toString("base64url");
const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

export class DashboardSessions {
  constructor(
    private readonly store: Pick<Store, "redis" | "keys">,
    private readonly ttlSeconds = SESSION_TTL_SECONDS,
  ) {}

  private key(id: string): string {
    return `${this.store.keys.ns}:dashboard:session:${sha256(id)}`;
  }

  async create(user: string): Promise<Session> {
    const session = { id: randomId(), user, csrf: randomId() };
    const key = this.key(session.id);
    await this.store.redis
      .multi()
      .hset(key, { user, csrf: session.csrf })
      .expire(key, this.ttlSeconds)
      .exec();
    return session;
  }

  /** The live session for a cookie value, renewing its TTL; null when unknown or expired. */
  async get(id: string | undefined): Promise<Session | null> {
    if (!id || !ID.test(id)) return null;
    const key = this.key(id);
    const res = await this.store.redis.multi().hgetall(key).expire(key, this.ttlSeconds).exec();
    const h = (res?.[0]?.[1] ?? {}) as Record<string, string>;
    if (!h.user || !h.csrf) return null;
    return { id, user: h.user, csrf: h.csrf };
  }

  async destroy(id: string): Promise<void> {
    await this.store.redis.del(this.key(id));
  }

  /** A one-line notice shown on the next page (the outcome of a form post). */
  async setNotice(id: string, notice: string): Promise<void> {
    await this.store.redis.hset(this.key(id), "notice", notice);
  }

  async takeNotice(id: string): Promise<string | null> {
    const key = this.key(id);
    const res = await this.store.redis.multi().hget(key, "notice").hdel(key, "notice").exec();
    return (res?.[0]?.[1] as string | null) ?? null;
  }
}

/** Constant-time check of a submitted CSRF token against the session's. */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  if (typeof submitted !== "string") return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
