import fsp from "node:fs/promises";
import path from "node:path";
import type { Settings } from "../config.js";
import { invalid } from "../errors.js";
import type { EventSink } from "../logs/writer.js";
import type { AppName } from "../names.js";
import type { PluginHost } from "../plugins/host.js";
import type { Formation } from "../store/formation.js";
import type { Store } from "../store/index.js";
import { type Release, saveRelease } from "../store/releases.js";
import { recordExplicitScale } from "./formation-apply.js";
import { currentRelease } from "./release.js";
import type { Runtime } from "./runtime.js";
import type { Scheduler } from "./scheduler.js";
import type { ClusterOp } from "./swarm/nodes.js";

// Changes to what runs that are not a new release: scale, restart, stop one container,
// remove an app's containers. They run only in a worker (the queue's "operation" jobs),
// under the app's lock, in the app's job order; the API checks what it can with the pure
// functions below before it queues, and answers with what the worker returns.

const MAX_PER_TYPE = 20;

/** One container ("web.2") or a whole type ("web", index absent). */
export interface ProcessTarget {
  type: string;
  index?: number;
}

/** What a worker can be asked to change at runtime; serialisable (it travels in a job). */
export type RuntimeOp =
  | { op: "scale"; changes: Record<string, string> }
  | { op: "restart"; target: ProcessTarget | null }
  | { op: "stop"; target: Required<ProcessTarget> }
  | { op: "destroy" }
  /** Swarm: list nodes, drain or activate one, the join command (job app: STACK_APP). */
  | { op: "cluster"; cluster: ClusterOp }
  /** Swarm: placement constraints of one process type; its services are replaced to follow them. */
  | { op: "placement"; type: string; constraints: string[] };

export interface OperationDeps {
  settings: Settings;
  store: Store;
  runtime: Runtime;
  /** The scheduler (docker or swarm). */
  deployer: Scheduler;
  /** `paas[api]` lines in the app's log stream. */
  events?: EventSink;
  /** Fires `scale` and `app-destroy` (absent: no plugins). */
  plugins?: PluginHost;
}

type Log = (line: string) => void;

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

/** "web" or "web.2" (or nothing: everything). */
export function parseTarget(raw: unknown): ProcessTarget | null {
  if (raw === undefined || raw === null || raw === "") return null;
  const m = typeof raw === "string" ? /^([a-z0-9_-]+)(?:\.(\d+))?$/i.exec(raw) : null;
  if (!m) throw invalid(`"${String(raw)}" is not a process: use a type (web) or one container (web.1)`);
  return { type: m[1].toLowerCase(), index: m[2] ? Number(m[2]) : undefined };
}

/** The process types a release runs (release is a phase, not a process). */
export function processTypesOf(release: Release): string[] {
  return Object.keys(release.processTypes).filter((t) => t !== "release");
}

/** The next formation, or a 400 naming the problem. Pure: the API checks with it before queueing. */
export function plannedScale(
  release: Release,
  current: Formation,
  changes: Record<string, unknown>,
): Formation {
  return applyScale(current, processTypesOf(release), changes);
}

/** The containers a restart of `target` replaces ("web.1", ...), or a 400 naming the problem. */
export function plannedRestart(formation: Formation, target: ProcessTarget | null): string[] {
  if (target && !(target.type in formation)) throw invalid(`this app has no "${target.type}" process type`);
  if (target?.index && target.index > (formation[target.type] ?? 0)) {
    throw invalid(
      `${target.type}.${target.index} does not exist (${target.type} is scaled to ${formation[target.type]})`,
    );
  }
  return Object.entries(formation).flatMap(([type, n]) =>
    Array.from({ length: n }, (_, i) => ({ type, index: i + 1 }))
      .filter((slot) => matches(target, slot))
      .map((x) => `${x.type}.${x.index}`),
  );
}

const matches = (target: ProcessTarget | null, slot: { type: string; index: number }) =>
  !target || (slot.type === target.type && (target.index === undefined || slot.index === target.index));

/** Run one operation for an app under its lock; returns what the API answers with. */
export async function runRuntimeOp(
  deps: OperationDeps,
  app: AppName,
  op: RuntimeOp,
  log: Log,
): Promise<unknown> {
  return deps.store.lock.withLock(app, async () => {
    switch (op.op) {
      case "cluster":
        return deps.deployer.cluster(op.cluster);
      case "placement":
        return { placement: await place(deps, app, op.type, op.constraints, log) };
      case "scale": {
        const formation = await scale(deps, app, op.changes, log);
        await deps.plugins?.fire("scale", { app, formation }, log);
        return { formation };
      }
      case "restart":
        return { restarted: await restart(deps, app, op.target, log) };
      case "stop":
        await stopOne(deps, app, op.target);
        return { stopped: `${op.target.type}.${op.target.index}` };
      case "destroy":
        await destroy(deps, app);
        // The containers are gone: plugins remove what they made for the app (volumes, networks).
        await deps.plugins?.fire("app-destroy", { app }, log);
        return { destroyed: app };
    }
  });
}

/** Started containers pass their checks before they get traffic; removed ones drain first. */
async function scale(
  deps: OperationDeps,
  app: AppName,
  changes: Record<string, string>,
  log: Log,
): Promise<Formation> {
  const { store } = deps;
  const release = await currentRelease(store, app);
  const next = plannedScale(release, await store.formation.get(app), changes);
  await deps.deployer.scale(app, release, next, log);
  await store.formation.set(app, next);
  await recordExplicitScale(store, app, release, Object.keys(changes));
  await saveRelease(store, app, { ...release, formation: next });
  deps.events?.emit(app, "api", `Scaled to ${describeScale(next, await store.resources.get(app))}`);
  return next;
}

/** Heroku's "web@3:512m worker@1": count per type, and the memory limit where one is set. */
export function describeScale(formation: Formation, resources: Record<string, { memory?: number }>): string {
  return Object.entries(formation)
    .map(([type, n]) => {
      const memory = resources[type]?.memory ?? resources["*"]?.memory;
      return memory ? `${type}@${n}:${Math.round(memory / 1024 / 1024)}m` : `${type}@${n}`;
    })
    .join(" ");
}

/** Zero-downtime restart of everything, one type, or one container. */
async function restart(
  deps: OperationDeps,
  app: AppName,
  target: ProcessTarget | null,
  log: Log,
): Promise<string[]> {
  const release = await currentRelease(deps.store, app);
  const formation = await deps.store.formation.get(app);
  const restarted = plannedRestart(formation, target);
  const only = (slot: { type: string; index: number }) => matches(target, slot);
  await deps.deployer.deploy(app, release, formation, log, { only, releasePhase: false });
  // Swarm replaces a type's service as a whole (tasks have no identity): say what restarted.
  return deps.deployer.kind === "swarm" && target?.index
    ? plannedRestart(formation, { type: target.type })
    : restarted;
}

/** Record a type's placement, then replace its services (zero-downtime) so the tasks follow it. */
async function place(deps: OperationDeps, app: AppName, type: string, constraints: string[], log: Log) {
  if (deps.deployer.kind !== "swarm") {
    throw invalid("placement constraints need PAAS_SCHEDULER=swarm (this platform runs apps on one engine)");
  }
  const release = await currentRelease(deps.store, app);
  // "run": where one-offs (`paas run`) go (run-relay/placement.ts); no service to replace.
  if (type !== "run" && !processTypesOf(release).includes(type))
    throw invalid(`this app has no "${type}" process type (or "run" for one-offs)`);
  const before = await deps.store.placement.get(app, type);
  await deps.store.placement.set(app, type, constraints);
  const formation = await deps.store.formation.get(app);
  if ((formation[type] ?? 0) > 0) {
    try {
      await deps.deployer.deploy(app, release, formation, log, {
        only: (s) => s.type === type,
        releasePhase: false,
      });
    } catch (err) {
      // The old tasks kept serving where they were: the stored placement says so again, or
      // every later deploy of the type (push, config:set) would fail on the same constraint.
      await deps.store.placement.set(app, type, before);
      throw err;
    }
  }
  return deps.store.placement.all(app);
}

/** Out of the route first, then SIGTERM with grace (reconcile leaves it until the next change). */
async function stopOne(deps: OperationDeps, app: AppName, target: Required<ProcessTarget>): Promise<void> {
  const release = await currentRelease(deps.store, app);
  await deps.deployer.stopOne(app, release, target);
}

/**
 * Destroy where it runs: the route and the app's state first (so reconcile does not bring
 * a container back), then its containers, images and build cache. The API removes the repo
 * and the build records after this job's outcome has reached it.
 */
async function destroy(deps: OperationDeps, app: AppName): Promise<void> {
  await deps.store.routes.remove(app);
  await deps.store.apps.destroy(app);
  await deps.deployer.destroy(app);
  // The containers are gone: the last lines they wrote as they stopped found no app and were
  // dropped (log-stream.ts); what was written before goes now.
  await deps.store.logs.removeApp(app);
  await deps.store.metrics.remove(app);
  await fsp.rm(path.join(deps.settings.dataDir, "cache", app), { recursive: true, force: true });
}
