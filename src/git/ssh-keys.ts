import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import ssh2 from "ssh2";
import { invalid } from "../errors.js";

// SSH keys, pure parts: reading a user's public key file, its SHA256 fingerprint (the form
// `ssh-keygen -lf` prints), and the platform's host key (ed25519, made once, OpenSSH format).

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

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (b: Buffer | string) => {
  const buf = typeof b === "string" ? Buffer.from(b) : b;
  return Buffer.concat([u32(buf.length), buf]);
};

/** An ed25519 private key in the OpenSSH format ssh2 reads (it does not read PKCS8 ed25519). */
export function openSshEd25519(key: crypto.KeyObject, comment = "paas host key"): string {
  const jwk = key.export({ format: "jwk" });
  if (jwk.crv !== "Ed25519" || !jwk.d || !jwk.x) throw new Error("not an ed25519 private key");
  const seed = Buffer.from(jwk.d, "base64url");
  const pub = Buffer.from(jwk.x, "base64url");
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  const check = crypto.randomBytes(4);
  let priv = Buffer.concat([
    check,
    check,
    sshString("ssh-ed25519"),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    u32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  const b64 = body.toString("base64").replace(/.{1,70}/g, "$&\n");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

export const HOST_KEY_FILE = "ssh_host_ed25519_key";

/** The data dir's host key, made once (exclusive create, 0600) so clients see the same key. */
export function ensureHostKey(dataDir: string): string {
  const file = path.join(dataDir, HOST_KEY_FILE);
  if (!fs.existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync("ed25519");
    try {
      fs.writeFileSync(file, openSshEd25519(privateKey), { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  fs.chmodSync(file, 0o600);
  return fs.readFileSync(file, "utf8");
}
