import crypto from "node:crypto";
import { promisify } from "node:util";
import type { PasswordRecord } from "../store/users.js";

// Passwords: scrypt (node:crypto) with a random 16-byte salt per user. N=2^15, r=8, p=1 is
// OWASP's scrypt floor (32 MiB, ~0.1 s a check on one core): slow for a guesser, fine for a login.

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

const PARAMS = { N: 1 << 15, r: 8, p: 1 };
const KEYLEN = 32;
const maxmem = (N: number, r: number) => 128 * N * r * 2;

export const MIN_PASSWORD = 8;

export async function hashPassword(password: string): Promise<PasswordRecord> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { ...PARAMS, maxmem: maxmem(PARAMS.N, PARAMS.r) });
  return { salt: salt.toString("base64"), hash: hash.toString("base64"), ...PARAMS };
}

/** Constant-time check. Without a record it still spends the same work, so timing does not tell whether a user exists. */
export async function verifyPassword(password: string, rec: PasswordRecord | undefined): Promise<boolean> {
  const r = rec ?? { salt: "AAAAAAAAAAAAAAAAAAAAAA==", hash: "", ...PARAMS };
  const want = Buffer.from(r.hash, "base64");
  const got = await scrypt(password, Buffer.from(r.salt, "base64"), want.length || KEYLEN, {
    N: r.N,
    r: r.r,
    p: r.p,
    maxmem: maxmem(r.N, r.r),
  });
  return rec !== undefined && want.length === got.length && crypto.timingSafeEqual(want, got);
}
