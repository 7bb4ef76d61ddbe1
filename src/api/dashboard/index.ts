import express, { type NextFunction, type Request, type Response } from "express";
import { authenticate, checkPassword } from "../../auth/authenticate.js";
import { principalFor } from "../../auth/decide.js";
import { sourceAddress } from "../../auth.js";
import { isPaasError, messageOf } from "../../errors.js";
import { loadApp } from "../app-context.js";
import { handle } from "../errors.js";
import { DASHBOARD_POLICIES } from "../policies.js";
import { audit, guardRoutes } from "../route-policy.js";
import type { Services } from "../services.js";
import { dashboardLive } from "./live.js";
import { dashboardPages } from "./pages.js";
import { dashboardReports } from "./reports.js";
import { csrfMatches, DashboardSessions, type Session } from "./sessions.js";
import { type LayoutContext, Views } from "./view.js";

// The web dashboard: server-rendered pages over the same services as the REST API, no JS.
// Sign-in takes an email and password (or an API token) once and trades it for a random session id in an
// HttpOnly, SameSite=Strict cookie; every form post also carries the session's CSRF token.

const SECURITY_HEADERS = {
  // Pages show config values and logs: never cache them, never frame them.
  "Cache-Control": "no-store",
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Only a path inside the dashboard may be a post-login destination (no open redirect). */
function safeNext(base: string, next: unknown): string {
  const home = `${base}/`;
  if (typeof next !== "string" || !next.startsWith(home) || next.startsWith("//") || /[\\\s]/.test(next))
    return home;
  return next;
}

/** Mount with `app.use("/dashboard", dashboardRouter(services))`. */
export function dashboardRouter(s: Services): express.Router {
  const views = new Views();
  const sessions = new DashboardSessions(s.store);
  const cookie = `${s.settings.namespace}_dashboard`;
  const r = express.Router();
  const base = (res: Response) => (res.locals.view as LayoutContext).base;
  const cookiePath = (res: Response) => base(res) || "/";

  r.use((req, res, next) => {
    res.set(SECURITY_HEADERS);
    res.locals.view = { base: req.baseUrl } satisfies LayoutContext;
    next();
  });
  r.use(express.urlencoded({ extended: false, limit: "64kb", parameterLimit: 200 }));

  r.use((req, res, next) => {
    sessions
      .get(cookieValue(req, cookie))
      .then(async (session) => {
        if (!session) return;
        // The user's role as of now: a removed user's session is over.
        const principal = await principalFor(s.store, session.user);
        if (!principal) return;
        res.locals.session = session;
        res.locals.principal = principal;
        res.locals.user = principal.user;
        const notice = req.method === "GET" ? await sessions.takeNotice(session.id) : null;
        Object.assign(res.locals.view, { user: session.user, csrf: session.csrf, notice });
      })
      .then(() => next(), next);
  });

  r.get("/login", (req, res) => {
    if (res.locals.session) {
      res.redirect(303, safeNext(base(res), req.query.next));
      return;
    }
    views.render(res, 200, "login.njk", { next: safeNext(base(res), req.query.next) });
  });

  // No CSRF token here: there is no session yet, and a forged sign-in could only sign the
  // victim into this same admin account. SameSite=Strict keeps the cookie off cross-site posts.
  r.post(
    "/login",
    handle(async (req, res) => {
      const field = (k: string) => (typeof req.body?.[k] === "string" ? (req.body[k] as string).trim() : "");
      const [token, email, password] = [field("token"), field("email").toLowerCase(), field("password")];
      const next = safeNext(base(res), req.body?.next);
      if (!token && !(email && password)) {
        views.render(res, 401, "login.njk", {
          next,
          email,
          error: "Enter your email and password, or an API token.",
        });
        return;
      }
      // The same checks (and failed-attempt limit per address) as the API's.
      const addr = sourceAddress(req);
      const result = email
        ? await checkPassword(s.store, email, password, addr)
        : await authenticate(s.store, token, addr);
      if (!result.ok) {
        if (result.retryAfter) res.setHeader("Retry-After", String(result.retryAfter));
        const error =
          result.status === 429
            ? `Too many failed sign-ins from your address: try again in ${result.retryAfter} s.`
            : email
              ? "Wrong email or password."
              : "That token is not valid (or was revoked or expired). Use your own API token, or the admin token from $PAAS_DATA_DIR/admin-token.";
        audit(s, {
          user: email || "(token)",
          addr,
          action: "dashboard sign-in",
          result: `${result.status} refused`,
        });
        views.render(res, result.status, "login.njk", { next, email, error });
        return;
      }
      const user = result.principal.user;
      const session = await sessions.create(user);
      res.cookie(cookie, session.id, {
        httpOnly: true,
        sameSite: "strict",
        secure: req.secure,
        path: cookiePath(res),
      });
      s.log("dashboard sign-in", { user });
      audit(s, { user, addr, action: "dashboard sign-in", result: "200" });
      res.redirect(303, next);
    }),
  );

  // Everything below needs a session.
  r.use((req, res, next) => {
    if (res.locals.session) {
      next();
      return;
    }
    const login = `${base(res)}/login`;
    res.redirect(303, req.method === "GET" ? `${login}?next=${encodeURIComponent(req.originalUrl)}` : login);
  });

  // Every state-changing request must echo the session's CSRF token.
  r.use((req, res, next) => {
    if (req.method === "GET" || req.method === "HEAD") {
      next();
      return;
    }
    if (csrfMatches(res.locals.session as Session, req.body?._csrf)) {
      next();
      return;
    }
    views.render(res, 403, "error.njk", {
      title: "Form expired",
      message:
        "This form did not come from your dashboard session (missing or stale CSRF token). Reload the page and try again.",
      back: `${base(res)}/`,
    });
  });

  r.post(
    "/logout",
    handle(async (_req, res) => {
      await sessions.destroy((res.locals.session as Session).id);
      res.clearCookie(cookie, { httpOnly: true, sameSite: "strict", path: cookiePath(res) });
      res.redirect(303, `${base(res)}/login`);
    }),
  );

  // The same app prologue as the REST API: pages under /apps/:app use appOf(res).
  r.use("/apps/:app", loadApp(s.store));
  r.use(dashboardLive(s));
  r.use(dashboardPages(s, views, sessions));
  r.use(dashboardReports(s));

  // Every page and form above gets authorize() in front of its handler.
  guardRoutes(r, DASHBOARD_POLICIES, s);

  r.use((req, res) => {
    views.render(res, 404, "error.njk", {
      title: "Not found",
      message: `There is no dashboard page at ${req.originalUrl}.`,
      back: `${base(res)}/`,
    });
  });

  r.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    const home = `${base(res)}/`;
    // After a failed action, lead back to the app it was about (unless the app is what is missing).
    const app = /^\/apps\/([a-z0-9-]+)\/[a-z]+$/.exec(req.path)?.[1];
    const e = err as { type?: string };
    if (e?.type === "entity.too.large" || e?.type === "parameters.too.many") {
      views.render(res, 413, "error.njk", {
        title: "Too large",
        message: "That form was too large.",
        back: home,
      });
      return;
    }
    const status = (err as { status?: unknown })?.status;
    if (!isPaasError(err) && typeof status === "number" && status >= 400 && status < 500) {
      views.render(res, status, "error.njk", { title: "Bad request", message: messageOf(err), back: home });
      return;
    }
    if (isPaasError(err)) {
      views.render(res, err.status, "error.njk", {
        title: err.status === 404 ? "Not found" : "That did not work",
        message: err.message,
        details: err.details ?? [],
        back: app && err.status !== 404 ? `${home}apps/${app}` : home,
      });
      return;
    }
    s.log("dashboard error", { level: "error", method: req.method, path: req.path, error: messageOf(err) });
    views.render(res, 500, "error.njk", {
      title: "Internal error",
      message: `Something went wrong on the platform: ${messageOf(err)}`,
      back: home,
    });
  });

  return r;
}
