import crypto from "node:crypto";
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import type { SecretBox } from "./secret-box.js";

// ACME state shared by every router process: which apps want automatic certificates and
// how the last attempt went, the HTTP-01 answers (any router process may be the one the CA
// asks), the account key (sealed), and a lease so one process at a time does the renewing.

export interface AcmeStatus {
  enabled: boolean;
  /** "pending" (asked, not tried yet), "ok", "failing". */
  state: "pending" | "ok" | "failing";
  /** Last outcome in one line, e.g. the CA's refusal. */
  message: string;
  lastAttempt: string | null;
  /** Earliest next try after a failure (backoff). */
  nextAttempt: string | null;
  failures: number;
}

const RELEASE_LEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const RENEW_LEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

export class AcmeStore {
  private box: SecretBox | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  useSecretBox(box: SecretBox): void {
    this.box = box;
  }

  async enable(app: string): Promise<AcmeStatus> {
    await this.redis
      .multi()
      .sadd(this.keys.acmeApps(), app)
      .hset(this.keys.acmeStatus(app), {
        enabled: "1",
        state: "pending",
        message: "waiting for the renewer",
        nextAttempt: "",
        failures: "0",
      })
      .exec();
    return this.status(app);
  }

  async disable(app: string): Promise<void> {
    await this.redis.multi().srem(this.keys.acmeApps(), app).del(this.keys.acmeStatus(app)).exec();
  }

  async enabledApps(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.acmeApps())).sort();
  }

  async status(app: string): Promise<AcmeStatus> {
    const h = await this.redis.hgetall(this.keys.acmeStatus(app));
    return {
      enabled: h.enabled === "1",
      state: (h.state as AcmeStatus["state"]) || "pending",
      message: h.message ?? "",
      lastAttempt: h.lastAttempt || null,
      nextAttempt: h.nextAttempt || null,
      failures: Number(h.failures ?? 0),
    };
  }

  async setStatus(app: string, patch: Partial<Omit<AcmeStatus, "enabled">>): Promise<void> {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(patch)) fields[k] = v === null ? "" : String(v);
    // Only while still enabled: a certs:auto off during an attempt must not be undone.
    if (await this.redis.sismember(this.keys.acmeApps(), app))
      await this.redis.hset(this.keys.acmeStatus(app), fields);
  }

  async putChallenge(token: string, keyAuthorization: string, ttlSeconds = 600): Promise<void> {
    await this.redis.set(this.keys.acmeChallenge(token), keyAuthorization, "EX", ttlSeconds);
  }

  async challenge(token: string): Promise<string | null> {
    return this.redis.get(this.keys.acmeChallenge(token));
  }

  async removeChallenge(token: string): Promise<void> {
    await this.redis.del(this.keys.acmeChallenge(token));
  }

  /** The ACME account key for a directory (PEM), made with `create` the first time. */
  async accountKey(directory: string, create: () => Promise<string>): Promise<string> {
    const field = directory;
    const sealed = await this.redis.hget(this.keys.acmeAccount(), field);
    if (sealed) return this.secrets().open(sealed);
    const pem = await create();
    // Two processes racing: the first one stored wins, both use it.
    await this.redis.hsetnx(this.keys.acmeAccount(), field, this.secrets().seal(pem));
    return this.secrets().open((await this.redis.hget(this.keys.acmeAccount(), field)) as string);
  }

  /** Try to take the renewer's lease; returns a release function, or null when another holds it. */
  async takeLease(ttlMs: number): Promise<{ renew(): Promise<boolean>; release(): Promise<void> } | null> {
    const key = this.keys.acmeLease();
    const token = crypto.randomUUID();
    if ((await this.redis.set(key, token, "PX", ttlMs, "NX")) !== "OK") return null;
    return {
      renew: async () => (await this.redis.eval(RENEW_LEASE, 1, key, token, String(ttlMs))) === 1,
      release: async () => {
        await this.redis.eval(RELEASE_LEASE, 1, key, token).catch(() => {});
      },
    };
  }

  private secrets(): SecretBox {
    if (!this.box)
      throw new Error("the ACME account key needs the secrets key: AcmeStore.useSecretBox() was not called");
    return this.box;
  }
}
