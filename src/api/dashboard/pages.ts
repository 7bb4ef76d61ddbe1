import express, { type Response } from "express";
import type { Principal } from "../../auth/policy.js";
import { invalid, isPaasError } from "../../errors.js";
import { formatLine } from "../../logs/line.js";
import { withMetrics } from "../../logs/metrics.js";
import { recentLines } from "../../logs/reader.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { createApp, restartApp, rollbackApp, scaleApp } from "../operations.js";
import { appSummary, visibleApps } from "../routes/apps.js";
import type { Services } from "../services.js";
import { releaseReports } from "./reports.js";
import type { DashboardSessions, Session } from "./sessions.js";
import { processSummary, type Views } from "./view.js";

const RELEASES_SHOWN = 20;
const LOG_LINES = 100;

/** The signed-in pages: apps list, one app, its revealed config, and the forms' actions. */
export function dashboardPages(s: Services, views: Views, sessions: DashboardSessions): express.Router {
  const r = express.Router();
  const session = (res: Response) => res.locals.session as Session;
  const appPath = (res: Response, name: string) => `${res.locals.view.base}/apps/${name}`;

  /** After a form post: say what happened on the next page (post/redirect/get). */
  async function done(res: Response, to: string, notice: string): Promise<void> {
    await sessions.setNotice(session(res).id, notice);
    res.redirect(303, to);
  }

  r.get(
    "/",
    handle(async (_req, res) => {
      const names = await visibleApps(s, res.locals.principal as Principal);
      const apps = await Promise.all(
        names.map(async (name) => {
          try {
            const [summary, procs] = await Promise.all([appSummary(s, name), s.reader.ps(name)]);
            return { ...summary, processes: processSummary(procs) };
          } catch (err) {
            // Destroyed between the list and the lookup: leave it out.
            if (isPaasError(err) && err.status === 404) return null;
            throw err;
          }
        }),
      );
      views.render(res, 200, "apps.njk", { apps: apps.filter((a) => a !== null) });
    }),
  );

  r.post(
    "/apps",
    handle(async (req, res) => {
      const name = await createApp(s, String(req.body?.name ?? "").trim());
      await s.store.access.setOwner(name, session(res).user);
      await done(res, appPath(res, name), `Created ${name}. Add its git remote and push to deploy.`);
    }),
  );

  r.get(
    "/apps/:app",
    handle(async (_req, res) => {
      const { name, record: rec } = appOf(res);
      const summary = await appSummary(s, name);
      const [processes, formation, config, releases, logs] = await Promise.all([
        s.reader.ps(name).then((list) => withMetrics(s.store, name, list)),
        s.store.formation.get(name),
        s.store.config.get(name),
        s.store.releases.list(name),
        // The app's stream (output, router lines, events), as `paas logs` prints it.
        recentLines(s.store, name, LOG_LINES, {}),
      ]);
      const current = releases.find((x) => x.version === rec.release && x.image) ?? null;
      const types = current
        ? Object.entries(current.processTypes)
            .filter(([type]) => type !== "release")
            .map(([type, command]) => ({ type, command, count: formation[type] ?? 0 }))
        : [];
      views.render(res, 200, "app.njk", {
        app: summary,
        processes: processes.sort((a, b) => a.type.localeCompare(b.type) || a.index - b.index),
        types,
        deployed: current !== null,
        // Keys only: values stay off this page; the reveal page shows them on purpose.
        configKeys: Object.keys(config).sort(),
        // Reports plugins published per release (the image scan's): links on the row.
        reports: await releaseReports(
          s.settings.dataDir,
          name,
          releases.slice(0, RELEASES_SHOWN).map((x) => x.version),
        ),
        releases: releases.slice(0, RELEASES_SHOWN).map((x) => ({
          ...x,
          current: x.version === rec.release,
          canRollback: x.status === "succeeded" && x.image !== null && x.version < rec.release,
        })),
        logs: logs.map(formatLine),
        // The live part of the page goes on from the last line shown.
        logsAfter: logs.at(-1)?.id ?? (await s.store.logs.lastId(name)),
      });
    }),
  );

  r.get(
    "/apps/:app/config",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const config = await s.store.config.get(name);
      const vars = Object.keys(config)
        .sort()
        .map((key) => ({ key, value: config[key] }));
      views.render(res, 200, "config.njk", { app: { name }, vars });
    }),
  );

  r.post(
    "/apps/:app/scale",
    handle(async (req, res) => {
      const { name } = appOf(res);
      // Fields are named "scale.<type>"; a blank field leaves that type alone.
      const changes: Record<string, string> = {};
      for (const [field, value] of Object.entries((req.body ?? {}) as Record<string, unknown>)) {
        if (!field.startsWith("scale.") || typeof value !== "string" || value.trim() === "") continue;
        changes[field.slice("scale.".length)] = value.trim();
      }
      if (Object.keys(changes).length === 0) throw invalid("enter a number of containers for a process type");
      const formation = await scaleApp(s, name, changes, session(res).user);
      const text = Object.entries(formation)
        .map(([type, n]) => `${type}=${n}`)
        .join(" ");
      await done(res, appPath(res, name), `Scaled ${name}: ${text}`);
    }),
  );

  r.post(
    "/apps/:app/restart",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      await restartApp(s, name, undefined, session(res).user);
      await done(res, appPath(res, name), `Restarted every process of ${name}`);
    }),
  );

  r.post(
    "/apps/:app/rollback",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const raw = String(req.body?.version ?? "");
      const m = /^v?(\d+)$/.exec(raw);
      if (!m) throw invalid(`"${raw}" is not a release version: use v3 or 3`);
      await rollbackApp(s, name, Number(m[1]), session(res).user);
      await done(res, appPath(res, name), `Rolled ${name} back to v${m[1]}`);
    }),
  );

  return r;
}
