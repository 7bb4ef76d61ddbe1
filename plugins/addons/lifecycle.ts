// The executor: sends the plans of plan.ts to Docker. Service container, named volume and
// private network of one add-on; waiting until it takes connections; healing it when it is
// gone; removing it all on destroy.

import type { DockerParts } from "../../src/docker/index.js";
import { AddonError } from "./errors.js";
import {
  addonLabels,
  aliasesFor,
  containerName,
  networkName,
  planService,
  SERVICES,
  volumeName,
} from "./plan.js";
import type { Addon } from "./types.js";

const READY_TIMEOUT_MS = 60_000;

/**
 * What runs an add-on: a container on this engine (Lifecycle, the docker scheduler) or a
 * Swarm service (SwarmLifecycle in swarm.ts). Commands and triggers use only this.
 */
export interface AddonRunner {
  /** The add-on with where it will run recorded (swarm: the node it is pinned to). */
  place(a: Addon, requestedNode?: string): Promise<Addon>;
  /** Network, volume and a running service taking connections. Idempotent. */
  provision(a: Addon): Promise<unknown>;
  /** Network, volume and a started service, without waiting (a deploy heals its add-ons). */
  heal(a: Addon): Promise<unknown>;
  /** Whether reconcile should heal an add-on found in this state. */
  needsHeal(state: string): boolean;
  state(a: Addon): Promise<string>;
  refreshAliases(a: Addon): Promise<void>;
  disconnectApp(a: Addon, app: string): Promise<void>;
  /** Remove it (the data only when asked); lines for the user about what stayed. */
  remove(a: Addon, opts: { data: boolean }): Promise<string[]>;
  /** Extra `addons:info` lines: where it runs and why. */
  describe(a: Addon): Promise<string[]>;
  /** Reconcile: remove leftovers of add-ons no longer known (asked right before each removal). */
  sweep(known: (addon: string) => Promise<boolean>): Promise<void>;
}

export class Lifecycle implements AddonRunner {
  constructor(
    private readonly docker: DockerParts,
    private readonly namespace: string,
  ) {}

  async place(a: Addon, requestedNode?: string): Promise<Addon> {
    if (requestedNode)
      throw new AddonError("--node places an add-on in swarm mode only (PAAS_SCHEDULER=swarm)");
    return a;
  }

  needsHeal(state: string): boolean {
    return state !== "running";
  }

  async describe(_a: Addon): Promise<string[]> {
    return [];
  }

  async sweep(_known: (addon: string) => Promise<boolean>): Promise<void> {}

  /** Volume, network and a running service container, taking connections. Idempotent. */
  async provision(a: Addon): Promise<string> {
    const labels = addonLabels(this.namespace, a);
    await this.docker.volumes.ensure(volumeName(this.namespace, a.name), labels);
    // A plain bridge, not `internal`: an app container may get it as its first network, and
    // an internal one would cut off its published port. Nothing is published from the
    // service; only the containers of attached apps join it.
    await this.docker.networks.ensure(networkName(this.namespace, a.name), labels);
    const id = await this.ensureRunning(a);
    await this.waitReady(a, id);
    return id;
  }

  /** Volume, network and a started container, without waiting (a deploy heals its add-ons). */
  async heal(a: Addon): Promise<string> {
    const labels = addonLabels(this.namespace, a);
    await this.docker.volumes.ensure(volumeName(this.namespace, a.name), labels);
    await this.docker.networks.ensure(networkName(this.namespace, a.name), labels);
    return this.ensureRunning(a);
  }

  /** The service container's id if it exists, started if it was stopped; created if gone. */
  async ensureRunning(a: Addon): Promise<string> {
    const name = containerName(this.namespace, a.name);
    const found = await this.docker.containers.inspect(name);
    if (found) {
      if (!found.State.Running) await this.docker.containers.start(found.Id);
      return found.Id;
    }
    if (!(await this.docker.images.inspect(a.image))) {
      throw new AddonError(
        `the ${a.service} image ${a.image} is missing on this host: run scripts/setup.sh (it builds the add-on images)`,
      );
    }
    const id = await this.docker.containers.create(planService(this.namespace, a, null));
    await this.docker.containers.start(id);
    return id;
  }

  /** Poll the service's own readiness command (bounded). */
  async waitReady(a: Addon, id: string): Promise<void> {
    const cmd = SERVICES[a.service].readyCommand(a);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const r = await this.docker.execs.run(id, cmd);
        if (r.exitCode === 0) return;
        last = r.stderr.trim();
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new AddonError(
      `${a.name} did not start taking connections within 60 s${last ? `: ${last}` : ""}`,
      503,
    );
  }

  /** After an attach or detach: the service answers to `<addon>.<app>.internal` of each attached app. */
  async refreshAliases(a: Addon): Promise<void> {
    const name = containerName(this.namespace, a.name);
    const network = networkName(this.namespace, a.name);
    const found = await this.docker.containers.inspect(name);
    if (!found) return;
    await this.docker.networks.disconnect(network, found.Id);
    await this.docker.networks.connect(network, found.Id, aliasesFor(a));
  }

  /** Take an app's containers off the add-on's network (detach, destroy). */
  async disconnectApp(a: Addon, app: string): Promise<void> {
    const network = networkName(this.namespace, a.name);
    const info = await this.docker.networks.inspect(network);
    if (!info) return;
    const ids = Object.keys(info.Containers ?? {});
    for (const id of ids) {
      const c = await this.docker.containers.inspect(id);
      if (c?.Config.Labels?.["paas.app"] === app) await this.docker.networks.disconnect(network, id);
    }
  }

  /** Remove the container and the network; the volume (the data) only when asked. */
  async remove(a: Addon, opts: { data: boolean }): Promise<string[]> {
    const network = networkName(this.namespace, a.name);
    const found = await this.docker.containers.inspect(containerName(this.namespace, a.name));
    if (found) await this.docker.containers.remove(found.Id);
    const info = await this.docker.networks.inspect(network);
    for (const id of Object.keys(info?.Containers ?? {})) await this.docker.networks.disconnect(network, id);
    await this.docker.networks.remove(network);
    if (opts.data) await this.docker.volumes.remove(volumeName(this.namespace, a.name));
    return [];
  }

  /** Running state of the service container, for `addons:info`. */
  async state(a: Addon): Promise<string> {
    const found = await this.docker.containers.inspect(containerName(this.namespace, a.name));
    if (!found) return "missing";
    return found.State.Running ? "running" : found.State.Status;
  }
}
