import { type Operation, STACK_APP } from "../builder/jobs.js";
import { invalid, notFound } from "../errors.js";
import { type AppName, parseAppName, randomAppName } from "../names.js";
import { parseTarget, plannedRestart, plannedScale } from "../runtime/operations.js";
import { currentRelease } from "../runtime/release.js";
import type { Formation } from "../store/formation.js";
import { runJob } from "./routes/wait.js";
import type { Services } from "./services.js";

// What users ask of an app, as plain functions over the services: the REST routes and the
// dashboard's forms both call these, so the two can never drift apart. Every change to what
// runs is checked here (a 4xx naming the problem) and then done by a worker through the
// queue (runJob), under the app's lock and in its job order; this process never does it.

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
  await s.plugins?.fire("app-create", { app: name });
  return name;
}

/**
 * Scale: checked here (a 400 naming the problem), done by a worker; returns the new formation.
 * The worker's side (runtime/operations.ts) also records the scale as explicit (it wins over
 * app.json formation).
 */
export async function scaleApp(
  s: Services,
  name: AppName,
  changes: Record<string, unknown>,
  user = "",
): Promise<Formation> {
  const release = await currentRelease(s.store, name);
  plannedScale(release, await s.store.formation.get(name), changes);
  const asked = Object.fromEntries(Object.entries(changes).map(([type, n]) => [type, String(n)]));
  const done = await runOperation<{ formation: Formation }>(s, name, user, { op: "scale", changes: asked });
  return done.formation;
}

/** Zero-downtime restart of everything, one type, or one container; returns what restarted. */
export async function restartApp(
  s: Services,
  name: AppName,
  rawTarget?: unknown,
  user = "",
): Promise<string[]> {
  const target = parseTarget(rawTarget);
  await currentRelease(s.store, name);
  plannedRestart(await s.store.formation.get(name), target);
  const done = await runOperation<{ restarted: string[] }>(s, name, user, { op: "restart", target });
  return done.restarted;
}

/** `ps:stop web.1`: out of the route, then stopped (until the next deploy, scale or reconcile). */
export async function stopProcess(
  s: Services,
  name: AppName,
  rawTarget: unknown,
  user = "",
): Promise<string> {
  const target = parseTarget(rawTarget);
  if (!target || target.index === undefined) throw invalid("name one container to stop, e.g. web.1");
  await currentRelease(s.store, name);
  const done = await runOperation<{ stopped: string }>(s, name, user, {
    op: "stop",
    target: { type: target.type, index: target.index },
  });
  return done.stopped;
}

/** Save a type's limits ("*": every type) and restart what they apply to, so they take effect. */
export async function setResources(
  s: Services,
  name: AppName,
  type: string,
  limits: { memory?: number; cpu?: number },
  user = "",
): Promise<void> {
  // The worker knows the engine (its cores): it checks, saves, restarts, and rolls back.
  await runOperation(s, name, user, { op: "resources", type, limits });
}

/** Destroy what runs (route, state, containers, images, cache) in a worker; the caller removes the rest. */
export async function destroyRunning(s: Services, name: AppName, user = ""): Promise<void> {
  await runOperation(s, name, user, { op: "destroy" });
}

/** `repo:purge-cache`: the cache lives where builds run, so a worker empties it. */
export async function purgeBuildCache(s: Services, name: AppName, user = ""): Promise<void> {
  await runOperation(s, name, user, { op: "purge-cache" });
}

/** `stack:build`: rebuild the stack images where builds run; returns their references. */
export async function buildStack(s: Services, user = ""): Promise<{ build: string; run: string }> {
  return runJob(s, { kind: "operation", app: STACK_APP, user, operation: { op: "stack-build" } });
}

function runOperation<T>(s: Services, app: AppName, user: string, operation: Operation): Promise<T> {
  return runJob<T>(s, { kind: "operation", app, user, operation });
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
  await runJob(s, { kind: "rollback", app: name, target, user });
}
