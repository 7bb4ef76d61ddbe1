import type { Redis } from "ioredis";
import type { CertFacts } from "../domains/certs.js";
import { notFound } from "../errors.js";
import type { Keys } from "./keys.js";
import type { SecretBox } from "./secret-box.js";

// TLS certificates: per app a hash of id -> record, and one platform default (for
// `*.<PAAS_DOMAIN>`). Private keys are sealed (secret-box.ts) before they reach Redis and
// opened only here, so this module is the one place a key is ever in plain text on its
// way to the router. Every change is published so every router process reloads its SNI map.

/** What `paas certs` shows. */
export interface CertInfo extends CertFacts {
  id: string;
  /** Owning app; null for the platform default certificate. */
  app: string | null;
  /** "manual" (certs:add) or "acme" (certs:auto). */
  source: "manual" | "acme";
  createdAt: string;
}

/** What the router loads: the info plus the chain and the opened key. */
export interface CertMaterial extends CertInfo {
  chain: string;
  key: string;
}

interface Stored extends CertInfo {
  chain: string;
  sealedKey: string;
}

/** The channel message for the platform default certificate (app names never start with ":"). */
export const DEFAULT_CERT = ":default";

export class CertsStore {
  private box: SecretBox | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Set once at start-up (the key lives in the data dir, which the store does not know). */
  useSecretBox(box: SecretBox): void {
    this.box = box;
  }

  /** Store a checked certificate; one with the same id (same leaf) is replaced. */
  async put(cert: Omit<CertMaterial, "id" | "createdAt">, now = new Date()): Promise<CertInfo> {
    const { key, ...rest } = cert;
    const info: CertInfo = {
      ...stripMaterial(rest),
      id: cert.fingerprint.slice(0, 16),
      createdAt: now.toISOString(),
    };
    const stored: Stored = { ...info, chain: cert.chain, sealedKey: this.secrets().seal(key) };
    const m = this.redis.multi();
    if (cert.app === null) m.set(this.keys.certDefault(), JSON.stringify(stored));
    else
      m.hset(this.keys.certs(cert.app), info.id, JSON.stringify(stored)).sadd(this.keys.certApps(), cert.app);
    await m.publish(this.keys.certChannel(), cert.app ?? DEFAULT_CERT).exec();
    return info;
  }

  async list(app: string): Promise<CertInfo[]> {
    const raw = await this.redis.hvals(this.keys.certs(app));
    return raw
      .map((r) => stripMaterial(JSON.parse(r) as Stored))
      .sort((a, b) => a.notAfter.localeCompare(b.notAfter));
  }

  async getDefault(): Promise<CertInfo | null> {
    const raw = await this.redis.get(this.keys.certDefault());
    return raw ? stripMaterial(JSON.parse(raw) as Stored) : null;
  }

  /** Remove by id (or id prefix) or by a name the certificate covers exactly; returns what went. */
  async remove(app: string, idOrName: string): Promise<CertInfo[]> {
    const want = idOrName.toLowerCase();
    const all = await this.list(app);
    const gone = all.filter((c) => c.id.startsWith(want) || c.names.includes(want));
    if (gone.length === 0) {
      throw notFound(
        `${app} has no certificate with id or name ${idOrName}; list them with paas certs -a ${app}`,
      );
    }
    await this.redis
      .multi()
      .hdel(this.keys.certs(app), ...gone.map((c) => c.id))
      .publish(this.keys.certChannel(), app)
      .exec();
    return gone;
  }

  async removeDefault(): Promise<boolean> {
    const [[, n]] = (await this.redis
      .multi()
      .del(this.keys.certDefault())
      .publish(this.keys.certChannel(), DEFAULT_CERT)
      .exec()) as [unknown, number][];
    return n > 0;
  }

  /** apps:destroy */
  async destroy(app: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.certs(app), this.keys.acmeStatus(app))
      .srem(this.keys.certApps(), app)
      .publish(this.keys.certChannel(), app)
      .exec();
  }

  /** An app's certificates with their keys, for the router. */
  async material(app: string): Promise<CertMaterial[]> {
    const raw = await this.redis.hvals(this.keys.certs(app));
    return raw.map((r) => this.open(JSON.parse(r) as Stored));
  }

  async defaultMaterial(): Promise<CertMaterial | null> {
    const raw = await this.redis.get(this.keys.certDefault());
    return raw ? this.open(JSON.parse(raw) as Stored) : null;
  }

  async appsWithCerts(): Promise<string[]> {
    return this.redis.smembers(this.keys.certApps());
  }

  /** onChange(app), or onChange(DEFAULT_CERT), for every change; returns an unsubscribe function. */
  async subscribe(subscriber: Redis, onChange: (app: string) => void): Promise<() => Promise<void>> {
    const channel = this.keys.certChannel();
    const handler = (ch: string, message: string) => {
      if (ch === channel) onChange(message);
    };
    subscriber.on("message", handler);
    await subscriber.subscribe(channel);
    return async () => {
      subscriber.off("message", handler);
      await subscriber.unsubscribe(channel).catch(() => {});
    };
  }

  private open(s: Stored): CertMaterial {
    return { ...stripMaterial(s), chain: s.chain, key: this.secrets().open(s.sealedKey) };
  }

  private secrets(): SecretBox {
    if (!this.box)
      throw new Error("certificate keys need the secrets key: CertsStore.useSecretBox() was not called");
    return this.box;
  }
}

function stripMaterial<T extends object>(s: T): CertInfo {
  const {
    chain: _c,
    sealedKey: _k,
    key: _p,
    ...info
  } = s as T & { chain?: string; sealedKey?: string; key?: string };
  return info as unknown as CertInfo;
}
