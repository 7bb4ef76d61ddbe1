// Swarm mode's executor: an add-on is a Swarm service (swarm-plan.ts says why) on an
// attachable overlay of the add-on network's name, pinned to one node where its volume is.
// Through the manager's engine only (ctx.docker of a worker on a manager node).

import type { DockerParts } from "../../src/docker/index.js";
import { AddonError } from "./errors.js";
import { type AddonRunner, Lifecycle } from "./lifecycle.js";
import {
  ADDON_LABEL,
  addonLabels,
  aliasesFor,
  containerName,
  networkName,
  SERVICES,
  volumeName,
} from "./plan.js";
import { pinConstraint, pinnedNode, planAddonService } from "./swarm-plan.js";
import type { Addon } from "./types.js";

const READY_TIMEOUT_MS = 90_000;
const GONE_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SwarmAddonSettings {
  /** PAAS_SWARM_VOLUME_DRIVER: a driver spanning nodes; then no pin. */
  volumeDriver: string | null;
  /** PAAS_REGISTRY: where the add-on's image goes when its task may land on another node. */
  registry: string | null;
  /** PAAS_REGISTRY_USERNAME/PASSWORD: for that push, and handed to the nodes that pull it. */
  auth: { username: string; password: string } | null;
}

interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: {
    ContainerSpec?: { Image?: string };
    Placement?: { Constraints?: string[] };
    Networks?: { Target: string; Aliases?: string[] }[];
  };
}

export class SwarmLifecycle implements AddonRunner {
  constructor(
    private readonly docker: DockerParts,
    private readonly namespace: string,
    private readonly settings: SwarmAddonSettings,
  ) {}

  private get services() {
    return this.docker.services;
  }

  /** Pinned to the requested node (id or host name), else the manager's; none with a volume driver. */
  async place(a: Addon, requestedNode?: string): Promise<Addon> {
    if (this.settings.volumeDriver) {
      if (requestedNode)
        throw new AddonError(
          `--node is not needed: the volume driver ${this.settings.volumeDriver} (PAAS_SWARM_VOLUME_DRIVER) spans nodes, so the add-on runs anywhere`,
        );
      return { ...a, placement: null };
    }
    const nodes = await this.services.nodes();
    const want = requestedNode ?? (await this.services.nodeId());
    const node = nodes.find((n) => n.id === want || n.hostname === want);
    if (!node)
      throw new AddonError(
        requestedNode
          ? `no node "${requestedNode}" in the swarm; see \`paas nodes\` (an ID or host name)`
          : "this worker's engine is not a swarm node: cannot place the add-on",
        requestedNode ? 404 : 500,
      );
    if (node.availability !== "active" || node.state !== "ready")
      throw new AddonError(
        `node ${node.hostname} is ${node.state}, ${node.availability}: pick an active, ready node with --node`,
      );
    return { ...a, placement: { nodeId: node.id, hostname: node.hostname } };
  }

  /** The node to pin to: recorded at create; an add-on from before swarm mode: the manager's. */
  private async pinOf(a: Addon): Promise<string | null> {
    if (a.placement) return a.placement.nodeId;
    if (a.placement === null && this.settings.volumeDriver) return null;
    return this.services.nodeId();
  }

  /** The add-on's network as an attachable overlay (a bridge of that name from docker mode goes). */
  private async ensureNetwork(a: Addon): Promise<void> {
    const name = networkName(this.namespace, a.name);
    const labels = addonLabels(this.namespace, a);
    if (await this.services.ensureSwarmNetwork(name, labels)) return;
    // A bridge of the same name on this engine: the add-on ran as a plain container before
    // swarm mode. That container goes (its volume, the data, stays: the service pinned to
    // this node mounts it), the containers on the bridge leave it, and the overlay replaces it.
    const old = await this.docker.containers.inspect(containerName(this.namespace, a.name));
    if (old && old.Config.Labels?.[ADDON_LABEL] === a.name && !old.Config.Labels["com.docker.swarm.task.id"])
      await this.docker.containers.remove(old.Id);
    const bridge = await this.docker.networks.inspect(name);
    for (const id of Object.keys(bridge?.Containers ?? {})) await this.docker.networks.disconnect(name, id);
    await this.docker.networks.remove(name).catch((err: Error) => {
      throw new AddonError(
        `network ${name} is a bridge of this engine still in use (${err.message}); swarm tasks cannot join it`,
        409,
      );
    });
    await this.services.ensureOverlay(name, labels);
  }

  /** The image the task runs: the local tag where it is (this node), a registry copy elsewhere. */
  private async imageFor(a: Addon, nodeId: string | null): Promise<string> {
    const local = nodeId !== null && nodeId === (await this.services.nodeId());
    if (!(await this.docker.images.inspect(a.image)))
      throw new AddonError(
        `the ${a.service} image ${a.image} is missing on this host: run scripts/setup.sh (it builds the add-on images)`,
      );
    if (local || !this.settings.registry) return a.image;
    const at = a.image.lastIndexOf(":");
    const repo = `${this.settings.registry}/${a.image.slice(0, at)}`;
    const tag = a.image.slice(at + 1);
    await this.docker.images.tag(a.image, repo, tag);
    await this.docker.images.push(repo, tag, this.registryAuth());
    return `${repo}:${tag}`;
  }

  private registryAuth() {
    const { auth, registry } = this.settings;
    return auth && registry ? { ...auth, serveraddress: registry } : undefined;
  }

  private async ensureService(a: Addon): Promise<boolean> {
    if (await this.services.inspect(containerName(this.namespace, a.name))) return false;
    const nodeId = await this.pinOf(a);
    await this.services.create(
      planAddonService({
        namespace: this.namespace,
        addon: a,
        nodeId,
        volumeDriver: this.settings.volumeDriver,
        image: await this.imageFor(a, nodeId),
      }),
      this.registryAuth(),
    );
    return true;
  }

  async provision(a: Addon): Promise<void> {
    await this.ensureNetwork(a);
    await this.ensureService(a);
    await this.waitReady(a);
  }

  async heal(a: Addon): Promise<boolean> {
    await this.ensureNetwork(a);
    return this.ensureService(a);
  }

  /** Swarm restarts tasks itself: only a missing service (or network) needs the plugin. */
  needsHeal(state: string): boolean {
    return state === "missing";
  }

  private async currentTasks(a: Addon) {
    return this.services.tasks({
      service: [containerName(this.namespace, a.name)],
      "desired-state": ["running"],
    });
  }

  /**
   * A running task, then its own readiness command when its container is on this engine (the
   * pinned manager's node); a task elsewhere counts once it runs. Bounded.
   */
  async waitReady(a: Addon): Promise<void> {
    const cmd = SERVICES[a.service].readyCommand(a);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "";
    while (Date.now() < deadline) {
      const task = (await this.currentTasks(a)).find((t) => t.state === "running");
      if (task?.containerId) {
        const local = await this.docker.containers.inspect(task.containerId);
        if (!local) return;
        try {
          const r = await this.docker.execs.run(task.containerId, cmd);
          if (r.exitCode === 0) return;
          last = r.stderr.trim();
        } catch (err) {
          last = (err as Error).message;
        }
      } else {
        const other = (await this.currentTasks(a))[0];
        if (other) last = `task ${other.state}${other.error ? `: ${other.error}` : ""}`;
      }
      await sleep(500);
    }
    throw new AddonError(
      `${a.name} did not start taking connections within ${READY_TIMEOUT_MS / 1000} s${last ? `: ${last}` : ""}`,
      503,
    );
  }

  async state(a: Addon): Promise<string> {
    if (!(await this.services.inspect(containerName(this.namespace, a.name)))) return "missing";
    const tasks = await this.currentTasks(a);
    if (tasks.some((t) => t.state === "running")) return "running";
    const t = tasks[0];
    if (!t) return "starting";
    const why = t.error || (t.message && t.message !== t.state ? t.message : "");
    return why ? `${t.state} (${why})` : t.state;
  }

  /**
   * A newly attached app needs its `<addon>.<app>.internal` alias on the service: a service
   * update, which replaces the task (stop-first: seconds without the add-on for the apps
   * attached already). A detach keeps the stale alias: the detached app's tasks leave the
   * network at its restart, so the name answers no one new, and the add-on keeps running.
   */
  async refreshAliases(a: Addon): Promise<void> {
    const found = await this.services.inspect(containerName(this.namespace, a.name));
    if (!found) return;
    const spec = found.Spec as ServiceSpec;
    const networks = spec.TaskTemplate?.Networks ?? [];
    const have = new Set(networks.flatMap((n) => n.Aliases ?? []));
    if (aliasesFor(a).every((x) => have.has(x))) return;
    const net = await this.docker.networks.inspect(networkName(this.namespace, a.name));
    const ours = (n: { Target: string }) =>
      n.Target === net?.Id || n.Target === networkName(this.namespace, a.name);
    const next = {
      ...spec,
      TaskTemplate: {
        ...spec.TaskTemplate,
        Networks: [
          ...networks.filter((n) => !ours(n)),
          { Target: networkName(this.namespace, a.name), Aliases: aliasesFor(a) },
        ],
      },
    };
    await this.services.update(found.ID, found.Version?.Index ?? 0, next, this.registryAuth());
    await this.waitUpdated(a);
    await this.waitReady(a);
  }

  private async waitUpdated(a: Addon): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const s = (await this.services.inspect(containerName(this.namespace, a.name))) as {
        UpdateStatus?: { State?: string; Message?: string };
      } | null;
      const st = s?.UpdateStatus?.State;
      if (!st || st === "completed") return;
      if (/paused|rollback/.test(st))
        throw new AddonError(`updating ${a.name} failed: ${s?.UpdateStatus?.Message ?? st}`, 503);
      await sleep(500);
    }
  }

  /** One-offs on this engine joined the overlay as containers: those of the app leave it. */
  disconnectApp(a: Addon, app: string): Promise<void> {
    return new Lifecycle(this.docker, this.namespace).disconnectApp(a, app);
  }

  /**
   * The service, then (its task's container gone) the volume where it can be reached: this
   * engine's, or the driver's. The overlay goes when no service uses it any more; an app's
   * services still on it leave at the app's restart, and reconcile's sweep removes it then.
   */
  async remove(a: Addon, opts: { data: boolean }): Promise<string[]> {
    const notes: string[] = [];
    const name = containerName(this.namespace, a.name);
    const found = await this.services.inspect(name);
    const pinned = pinnedNode((found?.Spec as ServiceSpec | undefined)?.TaskTemplate?.Placement?.Constraints);
    if (found) await this.services.remove(found.ID);
    await this.waitContainersGone(a);
    const network = networkName(this.namespace, a.name);
    const info = await this.docker.networks.inspect(network);
    for (const id of Object.keys(info?.Containers ?? {})) await this.docker.networks.disconnect(network, id);
    await this.docker.networks.remove(network).catch(() => {});
    if (!opts.data) return notes;
    const volume = volumeName(this.namespace, a.name);
    const here = await this.services.nodeId();
    const node = pinned ?? a.placement?.nodeId ?? null;
    if (node && node !== here) {
      const host = a.placement?.nodeId === node ? a.placement.hostname : node;
      notes.push(
        `Its volume ${volume} is on node ${host}, which this worker's engine cannot reach: remove it there (docker volume rm ${volume})`,
      );
      return notes;
    }
    for (let i = 0; ; i++) {
      try {
        await this.docker.volumes.remove(volume);
        break;
      } catch (err) {
        // In use: the stopped task's container is removed by Swarm a moment later.
        if (i >= 20) throw err;
        await sleep(500);
      }
    }
    return notes;
  }

  private async waitContainersGone(a: Addon): Promise<void> {
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    const label = [`paas.namespace=${this.namespace}`, `${ADDON_LABEL}=${a.name}`];
    while (Date.now() < deadline) {
      const left = await this.docker.containers.list({ label });
      if (left.length === 0) return;
      await sleep(500);
    }
  }

  async describe(a: Addon): Promise<string[]> {
    const found = await this.services.inspect(containerName(this.namespace, a.name));
    const spec = found?.Spec as ServiceSpec | undefined;
    const nodes = await this.services.nodes();
    const hostOf = (id: string) => nodes.find((n) => n.id === id)?.hostname ?? id;
    const pinned = spec ? pinnedNode(spec.TaskTemplate?.Placement?.Constraints) : await this.pinOf(a);
    const task = found ? (await this.currentTasks(a)).find((t) => t.nodeId) : undefined;
    const lines = [
      `Runs as:     Swarm service ${containerName(this.namespace, a.name)} (1 replica, restart any, dnsrr) on the overlay ${networkName(this.namespace, a.name)}${task ? `; its task is on ${hostOf(task.nodeId)}` : ""}`,
    ];
    if (pinned) {
      lines.push(
        `Placement:   pinned to node ${hostOf(pinned)} (${pinConstraint(pinned)}): its data volume`,
        `             ${volumeName(this.namespace, a.name)} is on that node and no volume driver spanning`,
        "             nodes is configured (PAAS_SWARM_VOLUME_DRIVER). If that node is down, the",
        "             add-on waits for it; Swarm does not move it.",
      );
    } else {
      lines.push(
        `Placement:   any node: its volume uses the driver ${this.settings.volumeDriver ?? "(none)"}, which spans nodes`,
        "             (PAAS_SWARM_VOLUME_DRIVER), so Swarm may start it anywhere.",
      );
    }
    return lines;
  }

  /** Overlays of add-ons that are gone (left in use by an app's services at destroy). */
  async sweep(known: (addon: string) => Promise<boolean>): Promise<void> {
    const nets = await this.docker.networks.list({
      label: ["paas.managed=true", `paas.namespace=${this.namespace}`, "paas.kind=addon"],
    });
    for (const n of nets) {
      const addon = n.Labels?.[ADDON_LABEL];
      if (!addon || n.Scope !== "swarm" || (await known(addon))) continue;
      await this.docker.networks.remove(n.Name).catch(() => {});
    }
  }
}
