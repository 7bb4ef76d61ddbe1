import type express from "express";
import type { NextFunction, Request, Response } from "express";
import { type Action, authorize, isAppAction, type Principal } from "../auth/policy.js";
import { sourceAddress } from "../auth.js";
import { forbidden, isPaasError, messageOf } from "../errors.js";
import type { Store } from "../store/index.js";
import { appOf } from "./app-context.js";

// Every route's policy, declared in one table keyed by "METHOD path" (paths as registered,
// under /api/v1 for the API, under /dashboard for the dashboard). guardRoutes() walks the
// router once at start-up and puts the check in front of each route's handler, so a
// handler never runs without authorize() having said yes. A route missing here is
// admin-only at run time and fails test/unit/route-policy.test.ts.

export type PolicyTable = Readonly<Record<string, Action>>;

export interface RouteInfo {
  method: string;
  path: string;
  key: string;
}

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean>; stack: { method?: string; handle: Handler }[] };
  handle?: { stack?: RouteLayer[] };
}
type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

/** Every route of a router, sub-routers mounted without a path included. */
export function listRoutes(router: express.Router): (RouteInfo & { layer: RouteLayer })[] {
  const out: (RouteInfo & { layer: RouteLayer })[] = [];
  const walk = (stack: RouteLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) {
          const method = m === "_all" ? "ALL" : m.toUpperCase();
          out.push({ method, path: layer.route.path, key: `${method} ${layer.route.path}`, layer });
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((router as unknown as { stack: RouteLayer[] }).stack);
  return out;
}

/** Routes the table says nothing about. */
export function unguardedRoutes(router: express.Router, table: PolicyTable): RouteInfo[] {
  return listRoutes(router)
    .filter((r) => !(r.key in table))
    .map(({ method, path, key }) => ({ method, path, key }));
}

export interface GuardDeps {
  store: Store;
  log: (msg: string, ctx?: Record<string, unknown>) => void;
  /** `paas[api]` lines in the app's stream. */
  events?: { emit(app: string, process: string, message: string): void };
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The principal on a request (set by requireAuth or the dashboard's session). */
export const principalOf = (res: Response): Principal | undefined =>
  res.locals.principal as Principal | undefined;

/** Ask the policy for this request; throws 403 with the reason when denied. */
export async function check(deps: GuardDeps, res: Response, action: Action): Promise<void> {
  const principal = principalOf(res);
  let access: { owner: string; collaborators: string[] } | undefined;
  let app: string | undefined;
  if (isAppAction(action)) {
    app = appOf(res).name;
    access = await deps.store.access.get(app);
  }
  const d = authorize(principal, action, access);
  if (!d.allow) throw forbidden(app ? `${d.reason} (app ${app})` : d.reason);
}

/** Middleware for a route outside the routers the table covers (e.g. /metrics): a platform-wide action. */
export function requirePolicy(deps: GuardDeps, action: Exclude<Action, `app:${string}` | `git:${string}`>) {
  return (_req: Request, res: Response, next: NextFunction) => {
    check(deps, res, action).then(
      () => next(),
      (err) => {
        if (!isPaasError(err)) return next(err);
        res.status(err.status).json({ error: { code: err.code, message: err.message } });
      },
    );
  };
}

/** Record a change (or a refused one) in the audit trail and the app's event stream. */
export function audit(
  deps: GuardDeps,
  entry: { user: string; addr: string; action: string; app?: string; result: string },
): void {
  deps.store.audit
    .record(entry)
    .catch((err) => deps.log("audit record failed", { error: messageOf(err), action: entry.action }));
  // Not for the app's own deletion: its stream is gone, and the line would start a new one that
  // an app created later under the name would inherit (the audit trail keeps the deletion).
  if (entry.app && /^2|^3/.test(entry.result) && entry.action !== "DELETE /apps/:app")
    deps.events?.emit(entry.app, "api", `${entry.action} by ${entry.user} from ${entry.addr}`);
}

function guard(deps: GuardDeps, action: Action, route: RouteInfo, inner: Handler): Handler {
  return (req, res, next) => {
    const change = !READS.has(req.method) && action !== "public";
    const record = (result: string) => {
      const p = principalOf(res);
      let app: string | undefined;
      try {
        app = isAppAction(action) ? appOf(res).name : undefined;
      } catch {}
      audit(deps, { user: p?.user ?? "-", addr: sourceAddress(req), action: route.key, app, result });
    };
    check(deps, res, action).then(
      () => {
        if (change) res.on("finish", () => record(String(res.statusCode)));
        return inner(req, res, next);
      },
      (err) => {
        if (change) record("403 denied");
        next(err);
      },
    );
  };
}

/**
 * Put the policy check in front of every route of `router` (call after all routes are
 * registered). Returns the routes the table lacked (guarded as admin-only).
 */
export function guardRoutes(router: express.Router, table: PolicyTable, deps: GuardDeps): RouteInfo[] {
  const missing: RouteInfo[] = [];
  for (const r of listRoutes(router)) {
    let action = table[r.key];
    if (!action) {
      missing.push(r);
      action = "admin";
    }
    const stack = r.layer.route?.stack ?? [];
    const first = stack.find((l) => r.method === "ALL" || l.method === r.method.toLowerCase());
    if (first) first.handle = guard(deps, action, r, first.handle);
  }
  for (const r of missing) deps.log("route without a policy: admin-only until it has one", { route: r.key });
  return missing;
}
