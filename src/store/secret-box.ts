import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// Secrets at rest (today: TLS private keys). AES-256-GCM with a 32-byte key kept in the
// data dir, made once. Every process that must read the secrets (API, routers) needs the
// same key file: on one host they share the data dir; routers on other hosts need a copy.
// One interface so a platform-wide secrets layer can take over without touching callers.

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

const PREFIX = "v1:";
export const SECRET_KEY_FILE = "secret.key";

/** The data dir's key, made on first use (exclusive create, so two processes agree). */
export function dataDirSecretBox(dataDir: string): SecretBox {
  const file = path.join(dataDir, SECRET_KEY_FILE);
  let key: Buffer;
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString("base64"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  // A second process may have created it a moment ago: read until it holds a whole key.
  for (let i = 0; ; i++) {
    key = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
    if (key.length === 32) break;
    if (i > 50) throw new Error(`${file} does not hold a 32-byte base64 key: restore it or remove it`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  return keySecretBox(key);
}

export function keySecretBox(key: Buffer): SecretBox {
  return {
    seal(plain) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    },
    open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error("sealed value has an unknown format");
      const raw = Buffer.from(sealed.slice(PREFIX.length), "base64");
      const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      try {
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      } catch {
        throw new Error(
          `a secret cannot be decrypted with this ${SECRET_KEY_FILE}: is it the same key as the API's?`,
        );
      }
    },
  };
}

/** The data dir's box, its key file read (or made) on first use only. */
export function lazySecretBox(dataDir: string): SecretBox {
  let box: SecretBox | undefined;
  const get = () => {
    box ??= dataDirSecretBox(dataDir);
    return box;
  };
  return { seal: (plain) => get().seal(plain), open: (sealed) => get().open(sealed) };
}
