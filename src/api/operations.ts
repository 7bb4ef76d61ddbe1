import { invalid, notFound } from "../errors.js";
import { type AppName, parseAppName, randomAppName } from "../names.js";
import { currentRelease } from "../runtime/release.js";
import type { Formation } from "../store/formation.js";
import { saveRelease } from "../store/releases.js";
import { waitForJob } from "./routes/wait.js";
import type { Services } from "./services.js";

// What users ask of an app, as plain functions over the services: the REST routes and the
// dashboard's forms both call these, so the two can never drift apart.

const MAX_PER_TYPE = 20;

const opsLog = (s: Services, app: AppName) => (line: string) => s.log("ops", { app, line });

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
export function parseTarget(raw: unknown): { type: string; index?: number } | null {
  if (raw === undefined || raw === null || raw === "") return null;
  const m = typeof raw === "string" ? /^([a-z0-9_-]+)(?:\.(\d+))?$/i.exec(raw) : null;
  if (!m) throw invalid(`"${String(raw)}" is not a process: use a type (web) or one container (web.1)`);
  return { type: m[1].toLowerCase(), index: m[2] ? Number(m[2]) : undefined };
}

/** Claim the name (random when none is given), create the repo and an empty route. */
export async function createApp(s: Services, raw: unknown): Promise<AppName> {
  let name: AppName;
  if (raw === undefined || raw === null || raw === "") {
    name = randomAppName();
    for (let i = 0; i < 5 && (await s.store.apps.get(name)); i++) name = randomAppName();
  } else {
    name = parseAppName(raw);
  }
  await s.store.apps.create(name);
  try {
    await s.repos.create(name);
    await s.store.routes.put({ app: name, backends: [], domains: [] });
  } catch (err) {
    await s.store.apps.destroy(name);
    throw err;
  }
  s.log("app created", { app: name });
  return name;
}

/** Scale under the app's lock: started containers pass their checks before they get traffic. */
export async function scaleApp(
  s: Services,
  name: AppName,
  changes: Record<string, unknown>,
): Promise<Formation> {
  return s.store.lock.withLock(name, async () => {
    const release = await currentRelease(s.store, name);
    const types = Object.keys(release.processTypes).filter((t) => t !== "release");
    const next = applyScale(await s.store.formation.get(name), types, changes);
    await s.deployer.scale(name, release, next, opsLog(s, name));
    await s.store.formation.set(name, next);
    await saveRelease(s.store, name, { ...release, formation: next });
    return next;
  });
}

/** Zero-downtime restart of everything, one type, or one container; returns what restarted. */
export async function restartApp(s: Services, name: AppName, rawTarget?: unknown): Promise<string[]> {
  const target = parseTarget(rawTarget);
  return s.store.lock.withLock(name, async () => {
    const release = await currentRelease(s.store, name);
    const formation = await s.store.formation.get(name);
    if (target && !(target.type in formation)) throw invalid(`this app has no "${target.type}" process type`);
    if (target?.index && target.index > (formation[target.type] ?? 0)) {
      throw invalid(
        `${target.type}.${target.index} does not exist (${target.type} is scaled to ${formation[target.type]})`,
      );
    }
    const only = (slot: { type: string; index: number }) =>
      !target || (slot.type === target.type && (target.index === undefined || slot.index === target.index));
    await s.deployer.deploy(name, release, formation, opsLog(s, name), { only, releasePhase: false });
    return Object.entries(formation).flatMap(([type, n]) =>
      Array.from({ length: n }, (_, i) => ({ type, index: i + 1 }))
        .filter(only)
        .map((x) => `${x.type}.${x.index}`),
    );
  });
}

/** Roll back (null: to the release before the current) through the queue, and wait. */
export async function rollbackApp(
  s: Services,
  name: AppName,
  target: number | null,
  user: string,
): Promise<void> {
  // Check what can be checked now, so a mistake is a 4xx naming it, not a failed job.
  await currentRelease(s.store, name);
  if (target !== null) {
    const to = await s.store.releases.get(name, target);
    if (!to) throw notFound(`release v${target} of ${name} not found; see \`paas releases\``);
    if (!to.image || to.status === "failed") {
      throw invalid(
        `release v${target} cannot be rolled back to: it ${to.status === "failed" ? "failed" : "has no image"}`,
      );
    }
  }
  await waitForJob(s, { kind: "rollback", app: name, target, user });
}
