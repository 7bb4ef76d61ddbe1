import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// Secrets at rest: config var values (live and in every release), TLS private keys, the
// ACME account key and drain URLs. AES-256-GCM; each sealed value names the key that
// sealed it (a key id), so several keys can be readable at once while secrets:rotate-key
// re-seals everything with a new one, and a crash halfway loses nothing.
//
// Where the keys are: PAAS_SECRET_KEY (base64; hosts without the data dir, e.g. workers
// elsewhere) with PAAS_SECRET_KEY_PREVIOUS still readable; otherwise <data dir>/secret.key
// (0600, made once), plus the keys a rotation keeps until it is done
// (secret.key.next: the one about to be current; secret.key.old-<id>: earlier ones).

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** A box over several keys: seals with the current one, opens with any it knows. */
export interface SecretKeyring extends SecretBox {
  /** Id of the key new values are sealed with. */
  currentId(): string;
  /** Whether this value is sealed at all, and with the current key. */
  sealedWith(value: string): "current" | "other" | "plain";
  /** Whether a key with this id is readable here. */
  knows(id: string): boolean;
  /** Re-read the key files (another process rotated the key). */
  reload(): void;
}

export interface SecretKeySettings {
  secretKey?: Buffer | null;
  secretKeysPrevious?: Buffer[];
}

/** The legacy format (TLS keys before key ids): the data dir's key, no id. */
const V1 = "v1:";
const V2 = /^\$sb2\$([0-9a-f]{8})\$([A-Za-z0-9+/]+={0,2})$/;
export const SECRET_KEY_FILE = "secret.key";
const NEXT_FILE = `${SECRET_KEY_FILE}.next`;
const OLD_PREFIX = `${SECRET_KEY_FILE}.old-`;

/** A key's id: a short hash of the key (names it without revealing it). */
export function keyId(key: Buffer): string {
  return crypto.createHash("sha256").update("paas secret key id\0").update(key).digest("hex").slice(0, 8);
}

export function isSealed(value: string): boolean {
  return V2.test(value) || value.startsWith(V1);
}

function sealWith(key: Buffer, plain: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return `$sb2$${keyId(key)}$${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
}

function openWith(key: Buffer, raw: Buffer): string | null {
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/** A keyring over fixed keys (the first seals). Pure: used by tests and the loaders below. */
export function keyringOf(keys: Buffer[], reloadKeys?: () => Buffer[]): SecretKeyring {
  let current = keys[0];
  let byId = new Map<string, Buffer>();
  const load = (list: Buffer[]) => {
    if (list.length === 0 || list[0].length !== 32) throw new Error("a secret key must be 32 bytes");
    current = list[0];
    byId = new Map(list.map((k) => [keyId(k), k]));
  };
  load(keys);
  const ring: SecretKeyring = {
    currentId: () => keyId(current),
    knows: (id) => byId.has(id),
    reload() {
      if (reloadKeys) load(reloadKeys());
    },
    seal: (plain) => sealWith(current, plain),
    open(sealed) {
      if (sealed.startsWith(V1)) {
        const raw = Buffer.from(sealed.slice(V1.length), "base64");
        for (const k of byId.values()) {
          const plain = openWith(k, raw);
          if (plain !== null) return plain;
        }
        throw cannotOpen();
      }
      const m = V2.exec(sealed);
      if (!m) throw new Error("sealed value has an unknown format");
      if (!byId.has(m[1])) ring.reload();
      const key = byId.get(m[1]);
      if (!key)
        throw new Error(
          `a secret was sealed with key ${m[1]}, which this host does not have: give it PAAS_SECRET_KEY (or PAAS_SECRET_KEY_PREVIOUS) from the API host`,
        );
      const plain = openWith(key, Buffer.from(m[2], "base64"));
      if (plain === null) throw cannotOpen();
      return plain;
    },
    sealedWith(value) {
      const m = V2.exec(value);
      if (m) return m[1] === keyId(current) ? "current" : "other";
      return value.startsWith(V1) ? "other" : "plain";
    },
  };
  return ring;
}

const cannotOpen = () =>
  new Error(
    `a secret cannot be decrypted with this host's keys: is ${SECRET_KEY_FILE} the same as the API's?`,
  );

function readKeyFile(file: string): Buffer {
  // A second process may have created it a moment ago: read until it holds a whole key.
  for (let i = 0; ; i++) {
    const key = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
    if (key.length === 32) return key;
    if (i > 50) throw new Error(`${file} does not hold a 32-byte base64 key: restore it or remove it`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/** The data dir's keys: secret.key (made on first use, exclusive create) first, then the rest. */
function dataDirKeys(dataDir: string, create: boolean): Buffer[] {
  const file = path.join(dataDir, SECRET_KEY_FILE);
  if (create) {
    try {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, crypto.randomBytes(32).toString("base64"), { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  const out: Buffer[] = [];
  if (fs.existsSync(file)) out.push(readKeyFile(file));
  const others = fs.existsSync(dataDir)
    ? fs.readdirSync(dataDir).filter((f) => f === NEXT_FILE || f.startsWith(OLD_PREFIX))
    : [];
  for (const f of others.sort()) out.push(readKeyFile(path.join(dataDir, f)));
  return out;
}

/** The platform's keyring: PAAS_SECRET_KEY first when given, else the data dir's key file. */
export function loadKeyring(dataDir: string, s: SecretKeySettings = {}): SecretKeyring {
  const keys = () => {
    if (!s.secretKey) return dataDirKeys(dataDir, true);
    // The data dir's keys stay readable: values sealed before PAAS_SECRET_KEY was set.
    return [s.secretKey, ...(s.secretKeysPrevious ?? []), ...dataDirKeys(dataDir, false)];
  };
  return keyringOf(keys(), keys);
}

export function dataDirSecretBox(dataDir: string): SecretKeyring {
  return loadKeyring(dataDir);
}

/** One key, sealing and opening (benches and tests). */
export function keySecretBox(key: Buffer): SecretKeyring {
  return keyringOf([key]);
}

/** The keyring, its key files read (or made) on first use only. */
export function lazySecretBox(dataDir: string, s: SecretKeySettings = {}): SecretKeyring {
  let ring: SecretKeyring | undefined;
  const get = () => {
    ring ??= loadKeyring(dataDir, s);
    return ring;
  };
  return {
    seal: (plain) => get().seal(plain),
    open: (sealed) => get().open(sealed),
    currentId: () => get().currentId(),
    sealedWith: (value) => get().sealedWith(value),
    knows: (id) => get().knows(id),
    reload: () => get().reload(),
  };
}

/**
 * Rotation, step 1 (data-dir keys only): a new key becomes current, the old one is kept
 * as secret.key.old-<id> until every value is re-sealed. Each step leaves every value
 * readable: next is written before it is used, the old key is copied before it is replaced.
 */
export function beginRotation(dataDir: string): { newId: string; oldId: string } {
  const file = path.join(dataDir, SECRET_KEY_FILE);
  const next = path.join(dataDir, NEXT_FILE);
  const old = readKeyFile(file);
  try {
    // A rotation that crashed after writing next: it is used as is.
    fs.writeFileSync(next, crypto.randomBytes(32).toString("base64"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const fresh = readKeyFile(next);
  const keep = path.join(dataDir, `${OLD_PREFIX}${keyId(old)}`);
  if (!fs.existsSync(keep)) {
    fs.writeFileSync(`${keep}.tmp`, old.toString("base64"), { mode: 0o600 });
    fs.renameSync(`${keep}.tmp`, keep);
  }
  fs.renameSync(next, file);
  return { newId: keyId(fresh), oldId: keyId(old) };
}

/** Rotation, last step: every value is sealed with the current key, so the old keys go. */
export function forgetOldKeys(dataDir: string): number {
  if (!fs.existsSync(dataDir)) return 0;
  const old = fs.readdirSync(dataDir).filter((f) => f.startsWith(OLD_PREFIX));
  for (const f of old) fs.rmSync(path.join(dataDir, f), { force: true });
  return old.length;
}
