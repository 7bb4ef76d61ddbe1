import type { AddressInfo } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { apiRouter } from "../../src/api/app.js";
import { dashboardRouter } from "../../src/api/dashboard/index.js";
import { API_POLICIES, DASHBOARD_POLICIES } from "../../src/api/policies.js";
import { guardRoutes, listRoutes, unguardedRoutes } from "../../src/api/route-policy.js";
import type { Services } from "../../src/api/services.js";
import { ACTIONS } from "../../src/auth/policy.js";
import { loadSettings } from "../../src/config.js";
import { storeOver } from "../../src/store/index.js";

// The route walk: every route the API and the dashboard register has a policy in
// src/api/policies.ts. A new route without one fails here (and is admin-only at run time).
// The routers are only built, never served: the store's Redis connection is never opened.

const redis = new Redis({ lazyConnect: true });
const services = {
  settings: loadSettings({ PAAS_DATA_DIR: "/tmp/paas-route-walk", PAAS_NAMESPACE: "walk" }),
  store: storeOver(redis, "walk"),
  log: () => {},
} as unknown as Services;

afterAll(() => redis.disconnect());

/** The /api/v1 router inside the one apiRouter() returns. */
function v1Router() {
  const outer = apiRouter(services) as unknown as { stack: { handle: unknown }[] };
  const mounted = outer.stack.find((l) => (l.handle as { stack?: unknown }).stack);
  return mounted?.handle as Parameters<typeof listRoutes>[0];
}

describe("route policies", () => {
  it("finds the API's routes", () => {
    const keys = listRoutes(v1Router()).map((r) => r.key);
    expect(keys.length).toBeGreaterThan(50);
    for (const k of ["GET /apps", "PATCH /apps/:app/config", "POST /apps/:app/run", "POST /auth/login"])
      expect(keys).toContain(k);
  });

  it("has a policy for every API route", () => {
    expect(unguardedRoutes(v1Router(), API_POLICIES)).toEqual([]);
  });

  it("has a policy for every dashboard page and form", () => {
    const dash = dashboardRouter(services);
    expect(listRoutes(dash).length).toBeGreaterThan(8);
    expect(unguardedRoutes(dash, DASHBOARD_POLICIES)).toEqual([]);
  });

  it("declares only known actions, and public only for sign-in and static files", () => {
    for (const table of [API_POLICIES, DASHBOARD_POLICIES])
      for (const action of Object.values(table)) expect(ACTIONS).toContain(action);
    const pub = [...Object.entries(API_POLICIES), ...Object.entries(DASHBOARD_POLICIES)]
      .filter(([, a]) => a === "public")
      .map(([k]) => k)
      .sort();
    expect(pub).toEqual(["GET /assets/live.js", "GET /login", "POST /auth/login", "POST /login"]);
  });

  it("keeps platform-wide routes admin-only", () => {
    for (const k of ["GET /users", "POST /users", "GET /audit", "POST /stack/build", "PUT /certs/default"])
      expect(API_POLICIES[k]).toBe("admin");
  });
});

describe("guardRoutes at run time", () => {
  it("asks the policy before the handler, and keeps a route without a policy to admins", async () => {
    const app = express();
    app.use((req, res, next) => {
      res.locals.principal = {
        user: String(req.headers["x-user"]),
        role: req.headers["x-admin"] ? "admin" : "user",
      };
      next();
    });
    const r = express.Router();
    const ran: string[] = [];
    for (const name of ["mine", "forgotten"])
      r.get(`/${name}`, (_req, res) => {
        ran.push(name);
        res.send("ok");
      });
    const missing = guardRoutes(r, { "GET /mine": "self" }, { store: services.store, log: () => {} });
    expect(missing.map((m) => m.key)).toEqual(["GET /forgotten"]);
    app.use(r);
    app.use(
      (
        err: { status?: number; message: string },
        _req: unknown,
        res: import("express").Response,
        _n: unknown,
      ) => {
        res.status(err.status ?? 500).send(err.message);
      },
    );
    const server = app.listen(0, "127.0.0.1");
    await new Promise((ok) => server.once("listening", ok));
    const port = (server.address() as AddressInfo).port;
    const get = (route: string, admin: boolean) =>
      fetch(`http://127.0.0.1:${port}${route}`, {
        headers: { "x-user": "u@example.com", ...(admin ? { "x-admin": "1" } : {}) },
      });
    try {
      expect((await get("/mine", false)).status).toBe(200);
      const refused = await get("/forgotten", false);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toMatch(/not an admin/);
      expect(ran).toEqual(["mine"]);
      expect((await get("/forgotten", true)).status).toBe(200);
      expect(ran).toEqual(["mine", "forgotten"]);
    } finally {
      server.close();
    }
  });
});
