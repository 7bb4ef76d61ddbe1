import express from "express";
import { parseMemory } from "../../config.js";
import { invalid } from "../../errors.js";
import type { AppName } from "../../names.js";
import { currentRelease } from "../../runtime/release.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { parseTarget, restartApp, scaleApp } from "../operations.js";
import type { Services } from "../services.js";

export function formationRoutes(s: Services): express.Router {
  const r = express.Router();
  const log = (name: AppName) => (line: string) => s.log("ops", { app: name, line });

  r.get(
    "/apps/:app/formation",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      res.json(await s.store.formation.get(name));
    }),
  );

  r.patch(
    "/apps/:app/formation",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = req.body as Record<string, unknown> | undefined;
      if (!body || typeof body !== "object" || Object.keys(body).length === 0) {
        throw invalid('send the new scale, e.g. {"web": "3", "worker": "+1"}');
      }
      const formation = await scaleApp(s, name, body);
      res.json({ formation });
    }),
  );

  r.post(
    "/apps/:app/ps/restart",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const restarted = await restartApp(s, name, req.body?.target);
      res.json({ restarted });
    }),
  );

  r.post(
    "/apps/:app/ps/stop",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const target = parseTarget(req.body?.target);
      if (!target || target.index === undefined) throw invalid("name one container to stop, e.g. web.1");
      await s.store.lock.withLock(name, async () => {
        const release = await currentRelease(s.store, name);
        await s.deployer.stopOne(name, release, { type: target.type, index: target.index! });
      });
      res.json({ stopped: `${target.type}.${target.index}` });
    }),
  );

  r.get(
    "/apps/:app/resources",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const all = await s.store.resources.get(name);
      const show = (l: { memory?: number; cpu?: number }) => ({
        memory: l.memory ? `${Math.round(l.memory / 1024 / 1024)}m` : null,
        cpu: l.cpu ?? null,
      });
      res.json({
        defaults: show({ memory: s.settings.defaultMemory }),
        types: Object.fromEntries(Object.entries(all).map(([t, l]) => [t, show(l)])),
      });
    }),
  );

  r.patch(
    "/apps/:app/resources",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = (req.body ?? {}) as { type?: unknown; memory?: unknown; cpu?: unknown };
      const type = body.type === undefined || body.type === null ? "*" : String(body.type);
      if (type !== "*" && !/^[a-z0-9_-]+$/i.test(type)) throw invalid(`"${type}" is not a process type`);
      const limits: { memory?: number; cpu?: number } = {};
      if (body.memory !== undefined) {
        const m = parseMemory(String(body.memory));
        if (m === null)
          throw invalid(`memory "${String(body.memory)}" must look like 256m or 1g (at least 4m)`);
        limits.memory = m;
      }
      if (body.cpu !== undefined) {
        const c = Number(body.cpu);
        if (!Number.isFinite(c) || c <= 0 || c > 64)
          throw invalid(`cpu "${String(body.cpu)}" must be a number of cores above 0`);
        limits.cpu = c;
      }
      if (Object.keys(limits).length === 0) throw invalid("give --memory and/or --cpu");
      await s.store.resources.set(name, type, limits);
      // Apply now: restart the affected containers (zero-downtime).
      const rec = await s.store.apps.require(name);
      if (rec.release > 0) {
        await s.store.lock.withLock(name, async () => {
          const release = await currentRelease(s.store, name);
          const formation = await s.store.formation.get(name);
          const only = (slot: { type: string }) => type === "*" || slot.type === type;
          await s.deployer.deploy(name, release, formation, log(name), { only, releasePhase: false });
        });
      }
      res.json({ type, ...limits });
    }),
  );

  r.get(
    "/apps/:app/checks",
    handle(async (_req, res) => {
      res.json({ enabled: !appOf(res).record.checksDisabled });
    }),
  );

  r.put(
    "/apps/:app/checks",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const enabled = req.body?.enabled;
      if (typeof enabled !== "boolean") throw invalid('send {"enabled": true} or {"enabled": false}');
      await s.store.apps.update(name, { checksDisabled: !enabled });
      res.json({ enabled });
    }),
  );

  return r;
}
