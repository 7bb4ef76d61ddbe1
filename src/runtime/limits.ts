import { DeployFailed, invalid, isPaasError, messageOf, PaasError } from "../errors.js";
import type { AppName } from "../names.js";
import type { Limits } from "../store/resources.js";
import type { OperationDeps } from "./operations.js";
import { currentRelease } from "./release.js";

// resources:set limits: what Docker accepts (a CPU limit up to the engine's cores, at least
// 6 MiB of memory) is checked before anything is saved; and limits that a restart could not
// start containers with are rolled back, so one bad limit never blocks the app's next push.

/** Docker's smallest CPU limit, and the most the API takes whatever the host. */
export const CPU_MIN = 0.01;
export const CPU_MAX = 64;
/** Docker refuses a memory limit below 6 MiB. */
export const MEMORY_MIN = 6 * 1024 * 1024;

/** Why a CPU limit cannot be used, or null. `hostCpus`: the engine's cores, when known. */
export function cpuProblem(cpu: number, hostCpus?: number | null): string | null {
  if (!Number.isFinite(cpu) || cpu < CPU_MIN || cpu > CPU_MAX) {
    return `cpu "${cpu}" must be a number of cores from ${CPU_MIN} to ${CPU_MAX}`;
  }
  if (hostCpus && cpu > hostCpus) {
    const cores = `${hostCpus} core${hostCpus === 1 ? "" : "s"}`;
    return `cpu ${cpu} is more than this host has (${cores}): give a number from ${CPU_MIN} to ${hostCpus}`;
  }
  return null;
}

/** Why a memory limit (bytes) cannot be used, or null. */
export function memoryProblem(bytes: number): string | null {
  if (!Number.isFinite(bytes) || bytes < MEMORY_MIN) {
    return "memory must be at least 6m: Docker cannot start a container with less";
  }
  return null;
}

/**
 * The worker's side of resources:set, under the app's lock: check the limits against this
 * engine, save them, and restart what they apply to. If the restart fails the previous
 * limits are put back (the old containers still run) and the error says so.
 */
export async function applyLimits(
  deps: OperationDeps,
  app: AppName,
  type: string,
  limits: Limits,
  hostCpus: number | null,
  log: (line: string) => void,
): Promise<{ type: string } & Limits> {
  const problem =
    (limits.cpu !== undefined ? cpuProblem(limits.cpu, hostCpus) : null) ??
    (limits.memory !== undefined ? memoryProblem(limits.memory) : null);
  if (problem) throw invalid(problem);
  const before = (await deps.store.resources.get(app))[type];
  await deps.store.resources.set(app, type, limits);
  const done = { type, ...limits };
  const rec = await deps.store.apps.require(app);
  if (rec.release === 0) return done;
  const formation = await deps.store.formation.get(app);
  if (type !== "*" && !((formation[type] ?? 0) > 0)) return done;
  try {
    const release = await currentRelease(deps.store, app);
    await deps.deployer.deploy(app, release, formation, log, {
      only: type === "*" ? undefined : (slot) => slot.type === type,
      releasePhase: false,
    });
  } catch (err) {
    await deps.store.resources.replace(app, type, before);
    const which = type === "*" ? "the app" : type;
    const message = `the new limits could not start ${which} (${messageOf(err)}); the previous limits are kept`;
    if (isPaasError(err)) throw new PaasError(err.code, message, err.details);
    throw new DeployFailed(message);
  }
  return done;
}
