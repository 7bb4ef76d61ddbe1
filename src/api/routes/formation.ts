import express from "express";
import { parseMemory } from "../../config.js";
import { invalid } from "../../errors.js";
import { CPU_MAX, CPU_MIN, cpuProblem, memoryProblem } from "../../runtime/limits.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { restartApp, scaleApp, setResources, stopProcess } from "../operations.js";
import type { Services } from "../services.js";
import { schemas, validate } from "../validate.js";

export function formationRoutes(s: Services): express.Router {
  const r = express.Router();
  const user = (res: express.Response) => String(res.locals.user ?? "");

  r.get(
    "/apps/:app/formation",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      res.json(await s.store.formation.get(name));
    }),
  );

  r.patch(
    "/apps/:app/formation",
    validate(schemas.formationPatch),
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = req.body as Record<string, unknown> | undefined;
      if (!body || typeof body !== "object" || Object.keys(body).length === 0) {
        throw invalid('send the new scale, e.g. {"web": "3", "worker": "+1"}');
      }
      const formation = await scaleApp(s, name, body, user(res));
      res.json({ formation });
    }),
  );

  r.post(
    "/apps/:app/ps/restart",
    validate(schemas.target),
    handle(async (req, res) => {
      const { name } = appOf(res);
      const restarted = await restartApp(s, name, req.body?.target, user(res));
      res.json({ restarted });
    }),
  );

  r.post(
    "/apps/:app/ps/stop",
    validate(schemas.target),
    handle(async (req, res) => {
      const { name } = appOf(res);
      res.json({ stopped: await stopProcess(s, name, req.body?.target, user(res)) });
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
        if (m === null || memoryProblem(m))
          throw invalid(`memory "${String(body.memory)}" must look like 256m or 1g (at least 6m)`);
        limits.memory = m;
      }
      if (body.cpu !== undefined) {
        const c = Number(body.cpu);
        if (!Number.isFinite(c) || cpuProblem(c))
          throw invalid(`cpu "${String(body.cpu)}" must be a number of cores from ${CPU_MIN} to ${CPU_MAX}`);
        limits.cpu = c;
      }
      if (Object.keys(limits).length === 0) throw invalid("give --memory and/or --cpu");
      // Saved, then the affected containers restart with them (zero-downtime) in a worker.
      await setResources(s, name, type, limits, user(res));
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
