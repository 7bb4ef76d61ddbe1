import express from "express";
import { parseMemory } from "../../config.js";
import { invalid } from "../../errors.js";
import { type AppName, parseAppName } from "../../names.js";
import { currentRelease } from "../../runtime/release.js";
import type { Formation } from "../../store/formation.js";
import { saveRelease } from "../../store/releases.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

const MAX_PER_TYPE = 20;

/** Apply "N", "+N", "-N" changes to a formation; types must exist in the release. */
export function applyScale(current: Formation, types: string[], changes: Record<string, unknown>): Formation {
  const next = { ...current };
  for (const [type, raw] of Object.entries(changes)) {
    if (!types.includes(type)) {
      throw invalid(`this app has no "${type}" process type; its types are: ${types.join(", ") || "none"}`);
    }
    const m = /^([+-]?)(\d+)$/.exec(String(raw));
    if (!m) throw invalid(`scale for ${type} must be N, +N or -N (got "${String(raw)}")`);
    const n = Number(m[2]);
    const base = next[type] ?? 0;
    const value = m[1] === "+" ? base + n : m[1] === "-" ? base - n : n;
    if (value < 0) throw invalid(`${type} cannot go below 0 (it is at ${base})`);
    if (value > MAX_PER_TYPE) throw invalid(`${type} cannot go above ${MAX_PER_TYPE} containers`);
    next[type] = value;
  }
  return next;
}

function parseTarget(raw: unknown): { type: string; index?: number } | null {
  if (raw === undefined || raw === null || raw === "") return null;
  const m = typeof raw === "string" ? /^([a-z0-9_-]+)(?:\.(\d+))?$/i.exec(raw) : null;
  if (!m) throw invalid(`"${String(raw)}" is not a process: use a type (web) or one container (web.1)`);
  return { type: m[1].toLowerCase(), index: m[2] ? Number(m[2]) : undefined };
}

export function formationRoutes(s: Services): express.Router {
  const r = express.Router();
  const log = (name: AppName) => (line: string) => s.log("ops", { app: name, line });

  r.get(
    "/apps/:app/formation",
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
      await s.store.apps.require(name);
      res.json(await s.store.formation.get(name));
    }),
  );

  r.patch(
    "/apps/:app/formation",
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
      const body = req.body as Record<string, unknown> | undefined;
      if (!body || typeof body !== "object" || Object.keys(body).length === 0) {
        throw invalid('send the new scale, e.g. {"web": "3", "worker": "+1"}');
      }
      const formation = await s.store.lock.withLock(name, async () => {
        const release = await currentRelease(s.store, name);
        const types = Object.keys(release.processTypes).filter((t) => t !== "release");
        const next = applyScale(await s.store.formation.get(name), types, body);
        await s.deployer.scale(name, release, next, log(name));
        await s.store.formation.set(name, next);
        await saveRelease(s.store, name, { ...release, formation: next });
        return next;
      });
      res.json({ formation });
    }),
  );

  r.post(
    "/apps/:app/ps/restart",
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
      const target = parseTarget(req.body?.target);
      const restarted = await s.store.lock.withLock(name, async () => {
        const release = await currentRelease(s.store, name);
        const formation = await s.store.formation.get(name);
        if (target && !(target.type in formation))
          throw invalid(`this app has no "${target.type}" process type`);
        if (target?.index && target.index > (formation[target.type] ?? 0)) {
          throw invalid(
            `${target.type}.${target.index} does not exist (${target.type} is scaled to ${formation[target.type]})`,
          );
        }
        const only = (slot: { type: string; index: number }) =>
          !target ||
          (slot.type === target.type && (target.index === undefined || slot.index === target.index));
        await s.deployer.deploy(name, release, formation, log(name), { only, releasePhase: false });
        return Object.entries(formation).flatMap(([type, n]) =>
          Array.from({ length: n }, (_, i) => ({ type, index: i + 1 }))
            .filter(only)
            .map((x) => `${x.type}.${x.index}`),
        );
      });
      res.json({ restarted });
    }),
  );

  r.post(
    "/apps/:app/ps/stop",
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
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
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
      await s.store.apps.require(name);
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
      const name = parseAppName(req.params.app);
      await s.store.apps.require(name);
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
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
      const rec = await s.store.apps.require(name);
      res.json({ enabled: !rec.checksDisabled });
    }),
  );

  r.put(
    "/apps/:app/checks",
    handle(async (req, res) => {
      const name = parseAppName(req.params.app);
      await s.store.apps.require(name);
      const enabled = req.body?.enabled;
      if (typeof enabled !== "boolean") throw invalid('send {"enabled": true} or {"enabled": false}');
      await s.store.apps.update(name, { checksDisabled: !enabled });
      res.json({ enabled });
    }),
  );

  return r;
}
