// Which executor runs add-ons: containers on this engine (the docker scheduler) or Swarm
// services (PAAS_SCHEDULER=swarm), chosen from the plugin's declared settings.

import type { DockerParts } from "../../src/docker/index.js";
import type { PluginContext } from "../../src/plugins/types.js";
import { AddonError } from "./errors.js";
import { type AddonRunner, Lifecycle } from "./lifecycle.js";
import { SwarmLifecycle } from "./swarm.js";

export type AddonCtx = PluginContext & { docker?: DockerParts };

export function swarmMode(ctx: Pick<PluginContext, "settings">): boolean {
  return ctx.settings.PAAS_SCHEDULER === "swarm";
}

/** The runner for this context; it needs Docker (a worker). */
export function runnerFor(ctx: AddonCtx): AddonRunner {
  if (!ctx.docker)
    throw new AddonError("this command needs a worker with Docker (declare it worker: true)", 500);
  if (!swarmMode(ctx)) return new Lifecycle(ctx.docker, ctx.namespace);
  return new SwarmLifecycle(ctx.docker, ctx.namespace, {
    volumeDriver: ctx.settings.PAAS_SWARM_VOLUME_DRIVER || null,
    registry: ctx.settings.PAAS_REGISTRY || null,
    auth:
      ctx.settings.PAAS_REGISTRY_USERNAME && ctx.settings.PAAS_REGISTRY_PASSWORD
        ? { username: ctx.settings.PAAS_REGISTRY_USERNAME, password: ctx.settings.PAAS_REGISTRY_PASSWORD }
        : null,
  });
}
