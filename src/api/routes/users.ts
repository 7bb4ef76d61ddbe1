import express from "express";
import { checkPassword } from "../../auth/authenticate.js";
import { hashPassword } from "../../auth/passwords.js";
import type { Principal } from "../../auth/policy.js";
import { sourceAddress } from "../../auth.js";
import { conflict, invalid, notFound } from "../../errors.js";
import { ADMIN_USER, type TokenRecord } from "../../store/users.js";
import { handle } from "../errors.js";
import { audit, principalOf } from "../route-policy.js";
import type { Services } from "../services.js";
import { schemas, validate } from "../validate.js";

// Users (admin), the caller's own tokens and password, and the audit trail (admin).

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "30d" -> a date that far from now. */
export function expiryFrom(spec: string | undefined, now = new Date()): Date | null {
  if (!spec) return null;
  const m = /^(\d+)([smhd])$/.exec(spec);
  if (!m) throw invalid(`expiry "${spec}" looks like 30d, 12h, 90m or 3600s`);
  return new Date(now.getTime() + Number(m[1]) * UNIT[m[2]] * 1000);
}

/** A token as shown to its owner: never the hash. */
const showToken = (t: TokenRecord) => ({
  id: t.id,
  description: t.description,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
});

const me = (res: express.Response) => principalOf(res) as Principal;

/** POST /auth/login: email + password for a new API token. Mounted before requireAuth. */
export function loginRoutes(s: Services): express.Router {
  const r = express.Router();
  r.post(
    "/auth/login",
    express.json({ limit: "16kb" }),
    validate(schemas.login),
    handle(async (req, res) => {
      const { email, password } = req.body as { email: string; password: string };
      const addr = sourceAddress(req);
      const result = await checkPassword(s.store, email, password, addr);
      if (!result.ok) {
        if (result.retryAfter) res.setHeader("Retry-After", String(result.retryAfter));
        audit(s, { user: email.slice(0, 254), addr, action: "login", result: `${result.status} refused` });
        res.status(result.status).json({
          error: {
            code: result.status === 429 ? "too_many_requests" : "unauthorized",
            message: result.message,
          },
        });
        return;
      }
      const { record, token } = await s.store.users.issueToken(result.principal.user, {
        description: `paas login from ${addr}`,
      });
      audit(s, { user: result.principal.user, addr, action: "login", result: "200" });
      res.json({ user: result.principal, token, id: record.id, expiresAt: record.expiresAt });
    }),
  );
  return r;
}

export function userRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/auth/tokens",
    handle(async (_req, res) => {
      res.json((await s.store.users.tokens(me(res).user)).map(showToken));
    }),
  );

  r.post(
    "/auth/tokens",
    validate(schemas.tokenCreate),
    handle(async (req, res) => {
      const body = (req.body ?? {}) as { description?: string; expires?: string };
      const { record, token } = await s.store.users.issueToken(me(res).user, {
        description: body.description ?? "",
        expiresAt: expiryFrom(body.expires),
      });
      res.status(201).json({ ...showToken(record), token });
    }),
  );

  r.delete(
    "/auth/tokens/:id",
    handle(async (req, res) => {
      const id = String(req.params.id);
      const t = await s.store.users.token(id);
      // Another user's token is "not found" to you, unless you are an admin.
      if (!t || t.revokedAt || (t.user !== me(res).user && me(res).role !== "admin"))
        throw notFound(`no token ${id.slice(0, 40)}: list yours with \`paas auth:tokens\``);
      const revoked = await s.store.users.revoke(id);
      res.json({ revoked: revoked.id, user: revoked.user });
    }),
  );

  r.put(
    "/auth/password",
    validate(schemas.password),
    handle(async (req, res) => {
      if (me(res).user === ADMIN_USER)
        throw conflict(
          "the admin user signs in with the admin token: add a user with `paas users:add EMAIL --admin`",
        );
      await s.store.users.setPassword(
        me(res).user,
        await hashPassword((req.body as { password: string }).password),
      );
      res.json({ user: me(res).user, password: "set" });
    }),
  );

  r.get(
    "/users",
    handle(async (_req, res) => {
      const users = await s.store.users.list();
      const apps = await s.store.apps.list();
      const rows = [{ email: ADMIN_USER, role: "admin", createdAt: "" }, ...users].map(async (u) => ({
        email: u.email,
        role: u.role,
        createdAt: u.createdAt || null,
        password: "password" in u && u.password ? true : u.email === ADMIN_USER ? null : false,
        apps: (await s.store.access.ownedBy(u.email, apps)).length,
      }));
      res.json(await Promise.all(rows));
    }),
  );

  r.post(
    "/users",
    validate(schemas.userAdd),
    handle(async (req, res) => {
      const body = req.body as { email: string; admin?: boolean; password?: string };
      const email = body.email.toLowerCase();
      const pw = body.password ? await hashPassword(body.password) : undefined;
      const user = await s.store.users.add(email, body.admin ? "admin" : "user", pw);
      const { record, token } = await s.store.users.issueToken(email, {
        description: "first token (users:add)",
      });
      res.status(201).json({ email, role: user.role, createdAt: user.createdAt, id: record.id, token });
    }),
  );

  r.put(
    "/users/:email/password",
    validate(schemas.password),
    handle(async (req, res) => {
      const email = String(req.params.email).toLowerCase();
      await s.store.users.setPassword(email, await hashPassword((req.body as { password: string }).password));
      res.json({ user: email, password: "set" });
    }),
  );

  r.delete(
    "/users/:email",
    handle(async (req, res) => {
      const email = String(req.params.email).toLowerCase();
      if (email === ADMIN_USER) throw conflict("the admin user cannot be removed");
      await s.store.users.require(email);
      const apps = await s.store.apps.list();
      const owned = await s.store.access.ownedBy(email, apps);
      const to = typeof req.query.transferTo === "string" ? req.query.transferTo.toLowerCase() : "";
      if (owned.length > 0 && !to)
        throw conflict(
          `${email} owns ${owned.join(", ")}: give them to someone with --transfer-to EMAIL, or destroy them first`,
        );
      if (to) {
        if (to === email) throw invalid("--transfer-to must name another user");
        await s.store.users.require(to);
        for (const app of owned) await s.store.access.setOwner(app, to);
      }
      await s.store.access.forgetUser(email, apps);
      await s.store.sshKeys.removeUser(email);
      await s.store.users.remove(email);
      res.json({ removed: email, transferred: owned, to: to || null });
    }),
  );

  r.get(
    "/audit",
    handle(async (req, res) => {
      const num = Math.min(1000, Math.max(1, Number.parseInt(String(req.query.num ?? "100"), 10) || 100));
      const app = typeof req.query.app === "string" && req.query.app ? req.query.app : undefined;
      res.json(await s.store.audit.list(num, app));
    }),
  );

  return r;
}
