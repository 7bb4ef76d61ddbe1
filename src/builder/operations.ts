import path from "node:path";
import { hostCpus } from "../docker/host.js";
import type { DockerParts } from "../docker/index.js";
import type { AppName } from "../names.js";
import type { PluginHost } from "../plugins/host.js";
import { applyLimits } from "../runtime/limits.js";
import { type OperationDeps, runRuntimeOp } from "../runtime/operations.js";
import { purgeCache } from "./buildpacks/index.js";
import type { OperationJob } from "./jobs.js";
import { buildStackImages } from "./stack.js";

export interface OperationRunnerDeps extends OperationDeps {
  docker: DockerParts;
  /** The worker's plugin host (with Docker). */
  plugins?: PluginHost;
}

/**
 * A worker's side of an operation job: do it under the app's lock (the stack has a lock
 * of its own) and return what the API answers with. Runs after every earlier job of the
 * same app (the queue's per-app turn), so it never interleaves with a push.
 */
export async function runOperation(
  deps: OperationRunnerDeps,
  job: OperationJob,
  log: (line: string) => void,
): Promise<unknown> {
  const op = job.operation;
  switch (op.op) {
    case "purge-cache":
      return deps.store.lock.withLock(job.app, async () => {
        await purgeCache(path.join(deps.settings.dataDir, "cache", job.app));
        return { purged: true };
      });
    case "stack-build":
      return deps.store.lock.withLock(job.app, async () => {
        const images = await buildStackImages(deps.docker, deps.settings, log);
        return { build: images.build, run: images.run };
      });
    case "resources": {
      const cpus = await hostCpus(deps.docker.raw);
      return deps.store.lock.withLock(job.app, () =>
        applyLimits(deps, job.app as AppName, op.type, op.limits, cpus, log),
      );
    }
    case "plugin-command": {
      const host = deps.plugins;
      if (!host) throw new Error("this worker has no plugin host");
      return deps.store.lock.withLock(job.app, () => host.runCommand(op.plugin, op.request, log));
    }
    default:
      return runRuntimeOp(deps, job.app as AppName, op, log);
  }
}
