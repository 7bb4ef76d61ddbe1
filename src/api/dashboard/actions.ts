import { type AppName, parseAppName, randomAppName } from "../../names.js";
import { currentRelease } from "../../runtime/release.js";
import type { Formation } from "../../store/formation.js";
import { saveRelease } from "../../store/releases.js";
import { applyScale } from "../routes/formation.js";
import { waitForJob } from "../routes/wait.js";
import type { Services } from "../services.js";

// What the dashboard's forms do. Each one runs the same steps, through the same store,
// repo and deployer calls, as the REST route named in its comment; the route handlers
// keep those steps inline, so they are called in the same order here. Candidates to
// move into a shared module that both the API routes and the dashboard call.

const opsLog = (s: Services, app: AppName) => (line: string) => s.log("ops", { app, line });

/** POST /api/v1/apps (routes/apps.ts): claim the name, create the repo and an empty route. */
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

/** PATCH /api/v1/apps/:app/formation (routes/formation.ts): applyScale, then scale under the app lock. */
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

/** POST /api/v1/apps/:app/ps/restart without a target (routes/formation.ts): every container, zero-downtime. */
export async function restartApp(s: Services, name: AppName): Promise<void> {
  await s.store.lock.withLock(name, async () => {
    const release = await currentRelease(s.store, name);
    const formation = await s.store.formation.get(name);
    await s.deployer.deploy(name, release, formation, opsLog(s, name), { releasePhase: false });
  });
}

/** POST /api/v1/apps/:app/releases/rollback (routes/releases.ts): a rollback job, awaited. */
export async function rollbackApp(s: Services, name: AppName, target: number, user: string): Promise<void> {
  await s.store.apps.require(name);
  await waitForJob(s, { kind: "rollback", app: name, target, user });
}
