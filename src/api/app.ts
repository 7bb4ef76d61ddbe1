import express from "express";
import { requireAuth } from "../auth.js";
import { loadApp } from "./app-context.js";
import { errorMiddleware } from "./errors.js";
import { API_POLICIES } from "./policies.js";
import { guardRoutes } from "./route-policy.js";
import { accessRoutes } from "./routes/access.js";
import { appMoveRoutes } from "./routes/app-moves.js";
import { appsRoutes } from "./routes/apps.js";
import { buildpackRoutes } from "./routes/buildpacks.js";
import { certRoutes } from "./routes/certs.js";
import { configRoutes } from "./routes/config.js";
import { domainRoutes } from "./routes/domains.js";
import { drainRoutes } from "./routes/drains.js";
import { formationRoutes } from "./routes/formation.js";
import { keyRoutes } from "./routes/keys.js";
import { logRoutes } from "./routes/logs.js";
import { nodeRoutes } from "./routes/nodes.js";
import { pluginRoutes } from "./routes/plugins.js";
import { processRoutes } from "./routes/processes.js";
import { releaseRoutes } from "./routes/releases.js";
import { routerSettingsRoutes } from "./routes/router-settings.js";
import { runRoutes } from "./routes/run.js";
import { loginRoutes, userRoutes } from "./routes/users.js";
import type { Services } from "./services.js";
import { storeErrors } from "./store-gate.js";

/** The REST API under /api/v1. Every route needs a token (but the password login) and has a policy (policies.ts). */
export function apiRouter(s: Services): express.Router {
  const v1 = express.Router();
  v1.use(loginRoutes(s));
  v1.use(requireAuth(s.store, "api"));
  v1.use(express.json({ limit: "1mb" }));
  // Every /apps/:app route gets its app checked and loaded here: handlers use appOf(res).
  v1.use("/apps/:app", loadApp(s.store));
  v1.get("/whoami", (_req, res) => {
    res.json({ user: res.locals.user, role: res.locals.principal?.role });
  });
  v1.use(appsRoutes(s));
  v1.use(appMoveRoutes(s));
  v1.use(configRoutes(s));
  v1.use(logRoutes(s));
  v1.use(drainRoutes(s));
  v1.use(processRoutes(s));
  v1.use(releaseRoutes(s));
  v1.use(routerSettingsRoutes(s));
  v1.use(formationRoutes(s));
  v1.use(nodeRoutes(s));
  v1.use(buildpackRoutes(s));
  v1.use(runRoutes(s));
  v1.use(domainRoutes(s));
  v1.use(certRoutes(s));
  v1.use(pluginRoutes(s));
  v1.use(keyRoutes(s));
  v1.use(userRoutes(s));
  v1.use(accessRoutes(s));
  // Every route above gets authorize() in front of its handler.
  guardRoutes(v1, API_POLICIES, s);
  v1.use((req, res) => {
    res.status(404).json({ error: { code: "not_found", message: `no API route ${req.method} ${req.path}` } });
  });
  v1.use(storeErrors(s.settings.redisUrl));
  v1.use(errorMiddleware(s.log));
  const router = express.Router();
  router.use("/api/v1", v1);
  return router;
}
