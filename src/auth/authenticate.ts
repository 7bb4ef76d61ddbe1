import crypto from "node:crypto";
import type { Store } from "../store/index.js";
import { hashToken } from "../store/tokens.js";
import { ADMIN_USER } from "../store/users.js";
import { verifyPassword } from "./passwords.js";
import type { Principal } from "./policy.js";

// Who is asking, for every door (API, git over HTTP, `paas run`, the dashboard, password
// logins): one function, with the failed-attempt limit per source address applied first.

export type AuthResult =
  | { ok: true; principal: Principal; tokenId: string | null }
  | { ok: false; status: 401 | 429; message: string; retryAfter?: number };

const LOGIN = "run `paas login`";

/** Constant-time comparison of two hex SHA-256 hashes. */
function sameHash(a: string, b: string | null): boolean {
  if (!b) return false;
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function tooMany(seconds: number): AuthResult {
  return {
    ok: false,
    status: 429,
    retryAfter: seconds,
    message: `too many failed logins or token checks from your address: try again in ${seconds} s`,
  };
}

async function failed(store: Store, addr: string, message: string): Promise<AuthResult> {
  const wait = await store.authFailures.fail(addr);
  return wait > 0 ? tooMany(wait) : { ok: false, status: 401, message };
}

/** The principal a token stands for, or why not (401), or 429 while the address is blocked. */
export async function authenticate(store: Store, token: string | null, addr: string): Promise<AuthResult> {
  const blocked = await store.authFailures.blockedFor(addr);
  if (blocked > 0) return tooMany(blocked);
  if (token === null)
    return {
      ok: false,
      status: 401,
      message: "authentication required: run `paas login --api URL --token TOKEN` (or --email EMAIL)",
    };
  const hash = hashToken(token);
  if (token && sameHash(hash, await store.tokens.adminHash()))
    return { ok: true, principal: { user: ADMIN_USER, role: "admin" }, tokenId: null };
  const found = token ? await store.users.lookup(hash) : ({ ok: false, why: "unknown" } as const);
  if (!found.ok) {
    const why =
      found.why === "revoked"
        ? `this API token was revoked (${found.at}): ${LOGIN} again`
        : found.why === "expired"
          ? `this API token expired at ${found.at}: ${LOGIN} again or make a new one with \`paas auth:token\``
          : `invalid API token: ${LOGIN} with your email and password, or with a token (the admin token is in $PAAS_DATA_DIR/admin-token)`;
    return failed(store, addr, why);
  }
  const user = await store.users.get(found.user);
  if (!user) return failed(store, addr, `the user of this API token no longer exists: ${LOGIN}`);
  return { ok: true, principal: { user: user.email, role: user.role }, tokenId: found.tokenId };
}

/** Email + password: the user's principal, or 401/429 as for tokens. */
export async function checkPassword(
  store: Store,
  email: string,
  password: string,
  addr: string,
): Promise<AuthResult> {
  const blocked = await store.authFailures.blockedFor(addr);
  if (blocked > 0) return tooMany(blocked);
  const user = email === ADMIN_USER ? null : await store.users.get(email);
  if (!(await verifyPassword(password, user?.password)) || !user)
    return failed(
      store,
      addr,
      "wrong email or password (or the user has no password: ask an admin for `paas users:passwd`)",
    );
  return { ok: true, principal: { user: user.email, role: user.role }, tokenId: null };
}
