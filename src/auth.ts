import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { NextFunction, Request, Response } from "express";
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

export function requireAuth(store: Store, kind: "api" | "git") {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = tokenFrom(req);
      const user = token ? await store.tokens.verify(token) : null;
      if (!user) {
        const message = token
          ? "invalid API token: run `paas login --api URL --token TOKEN` with the token from $PAAS_DATA_DIR/admin-token"
          : "authentication required: run `paas login --api URL --token TOKEN` (the admin token is in $PAAS_DATA_DIR/admin-token)";
        res.setHeader("WWW-Authenticate", 'Basic realm="paas"');
        if (kind === "git") res.status(401).type("text/plain").send(`${message}\n`);
        else res.status(401).json({ error: { code: "unauthorized", message } });
        return;
      }
      res.locals.user = user;
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
