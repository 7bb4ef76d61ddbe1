import fs from "node:fs";
import path from "node:path";
import express from "express";
import { withMetrics } from "../../logs/metrics.js";
import { findPackageRoot } from "../../router/pages.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { serveLog } from "../routes/logs.js";
import type { Services } from "../services.js";

// The app page's live parts (the page works without them): its log stream as server-sent
// events, its processes with CPU and memory as JSON, and the small script that uses both
// (templates/dashboard/live.js, served from here: the CSP allows scripts of this origin only).

export function dashboardLive(s: Services): express.Router {
  const r = express.Router();
  let script: string | null = null;

  r.get("/assets/live.js", (_req, res) => {
    script ??= fs.readFileSync(path.join(findPackageRoot(), "templates", "dashboard", "live.js"), "utf8");
    res.type("application/javascript").set("Cache-Control", "no-cache").send(script);
  });

  // Same reader as GET /api/v1/apps/:app/logs (the session stands in for the token).
  r.get(
    "/apps/:app/live/logs",
    handle((req, res) => serveLog(s, req, res, false)),
  );

  r.get(
    "/apps/:app/live/ps",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      res.json(await withMetrics(s.store, name, await s.reader.ps(name)));
    }),
  );

  return r;
}
