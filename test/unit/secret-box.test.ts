import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  beginRotation,
  forgetOldKeys,
  isSealed,
  keyId,
  keyringOf,
  loadKeyring,
  SECRET_KEY_FILE,
} from "../../src/store/secret-box.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-secretbox-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const fresh = () => fs.mkdtempSync(path.join(dir, "data-"));

/** The old single-key format (TLS keys sealed before key ids). */
function sealV1(key: Buffer, plain: string): string {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([c.update(plain, "utf8"), c.final()]);
  return `v1:${Buffer.concat([iv, c.getAuthTag(), body]).toString("base64")}`;
}

describe("secret box with key ids", () => {
  const a = crypto.randomBytes(32);
  const b = crypto.randomBytes(32);

  it("seals with the current key, names it, and never shows the value", () => {
    const ring = keyringOf([a]);
    const sealed = ring.seal("postgres://u:hunter2@db/x");
    expect(sealed).toMatch(new RegExp(`^\\$sb2\\$${keyId(a)}\\$`));
    expect(sealed).not.toContain("hunter2");
    expect(ring.seal("same")).not.toBe(ring.seal("same"));
    expect(ring.open(sealed)).toBe("postgres://u:hunter2@db/x");
    expect(isSealed(sealed)).toBe(true);
    expect(isSealed("plain value")).toBe(false);
    expect(ring.sealedWith(sealed)).toBe("current");
    expect(ring.sealedWith("plain")).toBe("plain");
  });

  it("opens values of every key it holds; says which key a stranger needs", () => {
    const old = keyringOf([a]).seal("x");
    const both = keyringOf([b, a]);
    expect(both.open(old)).toBe("x");
    expect(both.sealedWith(old)).toBe("other");
    expect(both.sealedWith(both.seal("y"))).toBe("current");
    expect(() => keyringOf([b]).open(old)).toThrow(new RegExp(`key ${keyId(a)}.*PAAS_SECRET_KEY`));
  });

  it("refuses a tampered value and opens the legacy v1 format", () => {
    const ring = keyringOf([a]);
    const sealed = ring.seal("value");
    const raw = Buffer.from(sealed.split("$")[3], "base64");
    raw[raw.length - 1] ^= 1;
    expect(() => ring.open(`$sb2$${keyId(a)}$${raw.toString("base64")}`)).toThrow(/cannot be decrypted/);
    expect(ring.open(sealV1(a, "tls key"))).toBe("tls key");
    expect(ring.sealedWith(sealV1(a, "tls key"))).toBe("other");
  });

  it("makes the data dir key once (0600); PAAS_SECRET_KEY wins and the file key stays readable", () => {
    const d = fresh();
    const ring = loadKeyring(d);
    const file = path.join(d, SECRET_KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const sealed = ring.seal("v");
    expect(loadKeyring(d).open(sealed)).toBe("v");
    const env = loadKeyring(d, { secretKey: b });
    expect(env.currentId()).toBe(keyId(b));
    expect(env.open(sealed)).toBe("v");
    const prev = loadKeyring(fresh(), { secretKey: a, secretKeysPrevious: [b] });
    expect(prev.open(env.seal("w"))).toBe("w");
  });

  it("rotation keeps every value readable at each step, and a crashed rotation resumes", () => {
    const d = fresh();
    const ring = loadKeyring(d);
    const before = ring.seal("before");
    // A crash after the next key was written but before the swap: next is readable, reused.
    fs.writeFileSync(path.join(d, `${SECRET_KEY_FILE}.next`), crypto.randomBytes(32).toString("base64"));
    const nextId = keyId(
      Buffer.from(fs.readFileSync(path.join(d, `${SECRET_KEY_FILE}.next`), "utf8"), "base64"),
    );
    expect(loadKeyring(d).open(before)).toBe("before");
    const { newId, oldId } = beginRotation(d);
    expect(newId).toBe(nextId);
    expect(oldId).toBe(ring.currentId());
    // Another process that still has the old ring finds the new key by reloading.
    const other = loadKeyring(d);
    expect(other.currentId()).toBe(newId);
    expect(other.open(before)).toBe("before");
    expect(ring.open(other.seal("after"))).toBe("after");
    expect(forgetOldKeys(d)).toBe(1);
    expect(() => loadKeyring(d).open(before)).toThrow(/does not have/);
  });
});
