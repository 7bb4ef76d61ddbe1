import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// The SSH server's host key: ed25519, made once in the data dir, in the OpenSSH format ssh2
// reads. (Users' public keys: store/ssh-keys.ts.)

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
