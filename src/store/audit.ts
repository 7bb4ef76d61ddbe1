import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** One change: who did what, when, from where (never a config value). */
export interface AuditEntry {
  at: string;
  user: string;
  addr: string;
  /** e.g. "PATCH /apps/:app/config" or "git push". */
  action: string;
  app?: string;
  /** The outcome (HTTP status) or a short note. */
  result?: string;
}

/** The platform-wide audit trail (`paas audit`): a capped Redis stream, newest kept. */
export class AuditStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly max = 10_000,
  ) {}

  async record(e: Omit<AuditEntry, "at">, now = new Date()): Promise<void> {
    const fields = ["at", now.toISOString(), "user", e.user, "addr", e.addr, "action", e.action];
    if (e.app) fields.push("app", e.app);
    if (e.result) fields.push("result", e.result);
    await this.redis.xadd(this.keys.audit(), "MAXLEN", "~", String(this.max), "*", ...fields);
  }

  /** The newest `count` entries, oldest first; only those about `app` when given. */
  async list(count = 100, app?: string): Promise<AuditEntry[]> {
    const scan = app ? Math.min(this.max, count * 20) : count;
    const raw = await this.redis.xrevrange(this.keys.audit(), "+", "-", "COUNT", scan);
    const out: AuditEntry[] = [];
    for (const [, fields] of raw) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      if (app && f.app !== app) continue;
      out.push({
        at: f.at,
        user: f.user,
        addr: f.addr,
        action: f.action,
        ...(f.app ? { app: f.app } : {}),
        ...(f.result ? { result: f.result } : {}),
      });
      if (out.length >= count) break;
    }
    return out.reverse();
  }
}
