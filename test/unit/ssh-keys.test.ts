import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { ensureHostKey, openSshEd25519 } from "../../src/git/ssh-keys.js";
import { fingerprintOf, normalizeFingerprint, parsePublicKey } from "../../src/store/ssh-keys.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-sshkeys-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function keygen(type: string): string {
  const file = path.join(dir, `id_${type}_${crypto.randomBytes(3).toString("hex")}`);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "me@laptop", "-f", file]);
  return file;
}

describe("ssh keys", () => {
  it("fingerprints a public key the way ssh-keygen -lf does", () => {
    for (const type of ["ed25519", "rsa", "ecdsa"]) {
      const file = keygen(type);
      const key = parsePublicKey(fs.readFileSync(`${file}.pub`, "utf8"));
      const printed = execFileSync("ssh-keygen", ["-lf", `${file}.pub`])
        .toString()
        .split(" ")[1];
      expect(key.fingerprint).toBe(printed);
      expect(key.comment).toBe("me@laptop");
      expect(fingerprintOf(Buffer.from(key.blob, "base64"))).toBe(printed);
    }
  });

  it("refuses a private key, garbage and an empty file with a clear line", () => {
    const file = keygen("ed25519");
    expect(() => parsePublicKey(fs.readFileSync(file, "utf8"))).toThrow(/private key.*\.pub/);
    expect(() => parsePublicKey("hello world")).toThrow(/not an SSH public key/);
    expect(() => parsePublicKey("ssh-ed25519 AAAAnotbase64!!")).toThrow(/not an SSH public key/);
    expect(() => parsePublicKey("\n\n")).toThrow(/empty/);
  });

  it("normalizes fingerprints and refuses other text", () => {
    const fp = parsePublicKey(fs.readFileSync(`${keygen("ed25519")}.pub`, "utf8")).fingerprint;
    expect(normalizeFingerprint(fp)).toBe(fp);
    expect(normalizeFingerprint(fp.slice("SHA256:".length))).toBe(fp);
    expect(() => normalizeFingerprint("MD5:ab:cd")).toThrow(/not a key fingerprint/);
  });

  it("writes an ed25519 host key that ssh2 and ssh-keygen read, once, 0600", () => {
    const { privateKey } = crypto.generateKeyPairSync("ed25519");
    const pem = openSshEd25519(privateKey);
    const parsed = utils.parseKey(pem);
    expect(parsed instanceof Error ? parsed.message : parsed.type).toBe("ssh-ed25519");
    const dataDir = fs.mkdtempSync(path.join(dir, "data-"));
    const first = ensureHostKey(dataDir);
    expect(ensureHostKey(dataDir)).toBe(first);
    const file = path.join(dataDir, "ssh_host_ed25519_key");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const pub = execFileSync("ssh-keygen", ["-y", "-f", file]).toString();
    expect(pub).toMatch(/^ssh-ed25519 AAAA/);
  });
});
