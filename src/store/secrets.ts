import type { Redis } from "ioredis";
import type { Store } from "./index.js";
import type { Release } from "./releases.js";
import { beginRotation, forgetOldKeys, isSealed, type SecretKeyring } from "./secret-box.js";

// Everything sealed at rest, walked in one place: config values, release snapshots, TLS
// keys (per app and the default), the ACME account key, drain records. `resealAll` seals
// what is plain (values from before sealing) and re-seals what another key sealed; it runs
// at start-up (the migration) and in secrets:rotate-key. Each write is a compare-and-set
// against the value read, so a concurrent change is never overwritten with an older one.

const HASH_CAS =
  "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0";
const STRING_CAS =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0";

export interface ResealReport {
  /** Values written again (sealed now with the current key). */
  resealed: number;
  /** Values still sealed with another key (changed while we worked, or unreadable). */
  remaining: number;
  currentKey: string;
}

/** Which key id Redis's sealed values are meant for (so a host with another key notices). */
const currentKeyKey = (store: Store) => `${store.keys.ns}:secrets:current-key`;

/**
 * At start: a host whose keys cannot open what the platform sealed stops with a clear line
 * (a worker elsewhere without PAAS_SECRET_KEY would otherwise make its own key).
 */
export async function checkKeyring(store: Store, ring: SecretKeyring): Promise<void> {
  const key = currentKeyKey(store);
  await store.redis.set(key, ring.currentId(), "NX");
  const want = await store.redis.get(key);
  if (want && !ring.knows(want)) {
    ring.reload();
    if (!ring.knows(want))
      throw new Error(
        `this host's secrets key (${ring.currentId()}) is not the platform's (${want}): set PAAS_SECRET_KEY to the base64 key in secret.key of the API host's data dir`,
      );
  }
}

export async function resealAll(store: Store, ring: SecretKeyring): Promise<ResealReport> {
  const r = store.redis;
  const current = (v: string) => ring.sealedWith(v) === "current";
  let resealed = 0;
  let remaining = 0;
  const count = (ok: boolean) => (ok ? resealed++ : remaining++);
  const apps = await store.apps.list();
  for (const app of apps) {
    // Live config: every value.
    const cfgKey = store.keys.config(app);
    for (const [field, value] of Object.entries(await r.hgetall(cfgKey))) {
      if (current(value)) continue;
      count(await hashCas(r, cfgKey, field, value, ring.seal(store.config.open(value))));
    }
    // Release snapshots: the config map inside each record.
    const relKey = store.keys.releases(app);
    for (const [version, raw] of Object.entries(await r.hgetall(relKey))) {
      const rel = JSON.parse(raw) as Release;
      const values = Object.values(rel.config ?? {});
      if (values.every(current)) continue;
      const config = Object.fromEntries(
        Object.entries(rel.config ?? {}).map(([k, v]) => [
          k,
          current(v) ? v : ring.seal(store.config.open(v)),
        ]),
      );
      count(await hashCas(r, relKey, version, raw, JSON.stringify({ ...rel, config })));
    }
    // TLS keys.
    const certKey = store.keys.certs(app);
    for (const [id, raw] of Object.entries(await r.hgetall(certKey))) {
      const next = resealField(raw, "sealedKey", ring);
      if (next) count(await hashCas(r, certKey, id, raw, next));
    }
    resealed += await store.drains.reseal(app, current);
  }
  const def = await r.get(store.keys.certDefault());
  const nextDef = def ? resealField(def, "sealedKey", ring) : null;
  if (def && nextDef) count((await r.eval(STRING_CAS, 1, store.keys.certDefault(), def, nextDef)) === 1);
  const acmeKey = store.keys.acmeAccount();
  for (const [field, value] of Object.entries(await r.hgetall(acmeKey))) {
    if (current(value)) continue;
    count(await hashCas(r, acmeKey, field, value, ring.seal(ring.open(value))));
  }
  await r.set(currentKeyKey(store), ring.currentId());
  return { resealed, remaining, currentKey: ring.currentId() };
}

/** A JSON record whose `field` holds a sealed value: the record re-sealed, or null when current. */
function resealField(raw: string, field: string, ring: SecretKeyring): string | null {
  const rec = JSON.parse(raw) as Record<string, unknown>;
  const v = rec[field];
  if (typeof v !== "string" || !isSealed(v) || ring.sealedWith(v) === "current") return null;
  return JSON.stringify({ ...rec, [field]: ring.seal(ring.open(v)) });
}

async function hashCas(r: Redis, key: string, field: string, was: string, now: string): Promise<boolean> {
  return (await r.eval(HASH_CAS, 1, key, field, was, now)) === 1;
}

/**
 * secrets:rotate-key. With data-dir keys: a new key becomes current (the old one kept),
 * everything is re-sealed, and the old key is forgotten only when nothing needs it. With
 * PAAS_SECRET_KEY the operator brings the new key (old one in PAAS_SECRET_KEY_PREVIOUS):
 * this re-seals everything with it.
 */
export async function rotateKey(
  store: Store,
  ring: SecretKeyring,
  opts: { dataDir: string; fromEnv: boolean },
): Promise<ResealReport & { rotated: boolean; oldKey: string | null }> {
  let oldKey: string | null = null;
  if (!opts.fromEnv) {
    oldKey = beginRotation(opts.dataDir).oldId;
    ring.reload();
  }
  let report = await resealAll(store, ring);
  // Values changed while we worked: one more pass picks them up.
  if (report.remaining > 0) {
    const again = await resealAll(store, ring);
    report = { ...again, resealed: report.resealed + again.resealed };
  }
  if (!opts.fromEnv && report.remaining === 0) forgetOldKeys(opts.dataDir);
  return { ...report, rotated: !opts.fromEnv, oldKey };
}

/** Seal with this keyring everywhere (PAAS_SECRET_KEY settings, read once at start-up). */
export function useKeyring(store: Store, ring: SecretKeyring): void {
  store.certs.useSecretBox(ring);
  store.acme.useSecretBox(ring);
  store.config.useSecretBox(ring);
  store.drains.useSecretBox(ring);
  store.secrets = ring;
}
