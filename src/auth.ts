import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { NextFunction, Request, Response } from "express";
import { type AuthResult, authenticate } from "./auth/authenticate.js";
import type { Store } from "./store/index.js";
import { hashToken } from "./store/tokens.js";

/**
 * Bearer header, or HTTP basic with the token as password (what git sends). Takes any
 * request with headers: websocket upgrades (`paas run`) do not pass through express.
 */
export function tokenFrom(req: Pick<Request, "headers">): string | null {
  const h = req.headers.authorization ?? "";
  const bearer = /^Bearer\s+(.+)$/i.exec(h);
  if (bearer) return bearer[1].trim();
  const basic = /^Basic\s+(.+)$/i.exec(h);
  if (basic) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const i = decoded.indexOf(":");
    return i >= 0 ? decoded.slice(i + 1) : decoded;
  }
  return null;
}

/** The address a request came from: the socket's peer (no proxy sits in front of the API). */
export function sourceAddress(req: { socket?: { remoteAddress?: string } }): string {
  return (req.socket?.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
}

/** Answer a failed authentication: 401 with a challenge, or 429 with Retry-After. */
export function sendAuthFailure(
  res: Response,
  fail: Extract<AuthResult, { ok: false }>,
  kind: "api" | "git",
): void {
  if (fail.retryAfter) res.setHeader("Retry-After", String(fail.retryAfter));
  else res.setHeader("WWW-Authenticate", 'Basic realm="paas"');
  if (kind === "git") res.status(fail.status).type("text/plain").send(`${fail.message}\n`);
  else
    res.status(fail.status).json({
      error: { code: fail.status === 429 ? "too_many_requests" : "unauthorized", message: fail.message },
    });
}

/**
 * Who is asking: sets res.locals.principal ({user, role}) and res.locals.user (the user id).
 * What they may do is decided per route by the policy (api/route-policy.ts).
 */
export function requireAuth(store: Store, kind: "api" | "git") {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const result = await authenticate(store, tokenFrom(req), sourceAddress(req));
      if (!result.ok) return sendAuthFailure(res, result, kind);
      res.locals.principal = result.principal;
      res.locals.user = result.principal.user;
      res.locals.tokenId = result.tokenId;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * On first start: create the admin token, keep only its hash in Redis and write the token
 * once to <dataDir>/admin-token (0600). If Redis lost the hash but the file is there, the
 * file's token is re-registered, so the operator's saved credentials keep working.
 */
export async function ensureAdminToken(
  store: Store,
  dataDir: string,
): Promise<{ file: string; created: boolean }> {
  const file = path.join(dataDir, "admin-token");
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const existingHash = await store.tokens.adminHash();
  const fileToken = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : null;
  if (fileToken && (!existingHash || existingHash === hashToken(fileToken))) {
    if (!existingHash) await store.tokens.setAdminHash(hashToken(fileToken));
    return { file, created: false };
  }
  // No token yet, or its file is gone or differs: issue a new one (the old one stops working).
  const token = `paas_${crypto.randomBytes(24).toString("hex")}`;
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  await store.tokens.setAdminHash(hashToken(token));
  return { file, created: true };
}
