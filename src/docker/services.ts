import type Docker from "dockerode";
import type { RegistryAuth } from "./images.js";

// Swarm mode: services, their tasks, the nodes and the overlay network, the swarm scheduler's
// only door to the engine (a manager node's API).

/** A task as the scheduler needs it: where it runs, its state and its overlay address. */
export interface TaskInfo {
  id: string;
  serviceId: string;
  slot: number;
  nodeId: string;
  /** Docker's task state: new, pending, assigned, preparing, starting, running, failed, ... */
  state: string;
  desired: string;
  message: string;
  error: string;
  containerId: string | null;
  /** The task's addresses (no prefix length) on the given network, by network name. */
  addresses: Record<string, string>;
  /** The image (with digest) the task runs. */
  image: string;
  labels: Record<string, string>;
  updatedAt: string;
  exitCode: number | null;
}

export interface NodeInfo {
  id: string;
  hostname: string;
  role: string;
  state: string;
  availability: string;
  address: string;
  labels: Record<string, string>;
  leader: boolean;
}

export class Services {
  constructor(private readonly docker: Docker) {}

  /** Whether this engine is a Swarm manager (services can be created through it). */
  async isManager(): Promise<boolean> {
    const info = (await this.docker.info()) as { Swarm?: { ControlAvailable?: boolean } };
    return Boolean(info.Swarm?.ControlAvailable);
  }

  /** This engine's node id in the swarm. */
  async nodeId(): Promise<string> {
    const info = (await this.docker.info()) as { Swarm?: { NodeID?: string } };
    return info.Swarm?.NodeID ?? "";
  }

  async list(filters: { label: string[] }): Promise<Docker.Service[]> {
    return this.docker.listServices({ filters: JSON.stringify(filters) });
  }

  /** The service by name, or null. */
  async inspect(name: string): Promise<Docker.Service | null> {
    try {
      return (await this.docker.getService(name).inspect()) as Docker.Service;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  /**
   * Create a service. With registryAuth the engine gets it as X-Registry-Auth and hands it to
   * the nodes that pull the service's image from a registry with auth (dockerode sends its
   * first argument as that header when there are two).
   */
  async create(spec: Record<string, unknown>, registryAuth?: RegistryAuth): Promise<string> {
    const res = (await (registryAuth
      ? this.docker.createService(registryAuth as never, spec as never)
      : this.docker.createService(spec as never))) as unknown as { id?: string; ID?: string };
    return res.id ?? res.ID ?? "";
  }

  /** Replace a service's spec (the version guards against lost updates); registryAuth as in create. */
  async update(
    id: string,
    version: number,
    spec: Record<string, unknown>,
    registryAuth?: RegistryAuth,
  ): Promise<void> {
    const service = this.docker.getService(id);
    if (registryAuth) await service.update(registryAuth as never, { version, ...spec } as never);
    else await service.update({ version, ...spec } as never);
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getService(id).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }

  async tasks(filters: Record<string, string[]>): Promise<TaskInfo[]> {
    const raw = (await this.docker.listTasks({ filters: JSON.stringify(filters) })) as RawTask[];
    return raw.map(taskOf);
  }

  async nodes(): Promise<NodeInfo[]> {
    const raw = (await this.docker.listNodes()) as RawNode[];
    return raw.map((n) => ({
      id: n.ID,
      hostname: n.Description?.Hostname ?? n.ID,
      role: n.Spec?.Role ?? "",
      state: n.Status?.State ?? "",
      availability: n.Spec?.Availability ?? "",
      address: n.Status?.Addr ?? "",
      labels: n.Spec?.Labels ?? {},
      leader: Boolean(n.ManagerStatus?.Leader),
    }));
  }

  /** Set a node's availability (active, pause, drain) and labels (null: remove), keeping the rest of its spec. */
  async updateNode(
    idOrName: string,
    change: { availability?: "active" | "drain" | "pause"; labels?: Record<string, string | null> },
  ): Promise<void> {
    const node = this.docker.getNode(idOrName);
    const info = (await node.inspect()) as RawNode;
    const labels: Record<string, string> = { ...(info.Spec?.Labels ?? {}) };
    for (const [k, v] of Object.entries(change.labels ?? {})) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    const spec = {
      ...info.Spec,
      Labels: labels,
      Availability: change.availability ?? info.Spec?.Availability,
    };
    await node.update({ version: info.Version?.Index, ...spec } as never);
  }

  /** What a new host runs to join (`docker swarm join --token ... ADDR:2377`). */
  async joinCommand(role: "worker" | "manager"): Promise<string> {
    const swarm = (await this.docker.swarmInspect()) as { JoinTokens: { Worker: string; Manager: string } };
    const info = (await this.docker.info()) as { Swarm?: { RemoteManagers?: { Addr: string }[] } };
    const addr = info.Swarm?.RemoteManagers?.[0]?.Addr ?? "<manager-address>:2377";
    const token = role === "manager" ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker;
    return `docker swarm join --token ${token} ${addr}`;
  }

  /** Create the attachable overlay network if it is missing; returns its id. */
  async ensureOverlay(name: string, labels: Record<string, string>): Promise<string> {
    const found = (await this.docker.listNetworks({ filters: JSON.stringify({ name: [name] }) })).find(
      (n) => n.Name === name,
    );
    if (found) return found.Id;
    const net = await this.docker.createNetwork({
      Name: name,
      Driver: "overlay",
      Attachable: true,
      CheckDuplicate: true,
      Labels: labels,
    });
    return net.id;
  }

  /**
   * A plugin's network for services: an attachable overlay made if missing. False when a
   * network of that name exists on this engine only (a bridge: services cannot join it).
   */
  async ensureSwarmNetwork(name: string, labels: Record<string, string>): Promise<boolean> {
    const found = (await this.docker.listNetworks({ filters: JSON.stringify({ name: [name] }) })).find(
      (n) => n.Name === name,
    );
    if (found) return found.Scope === "swarm";
    await this.ensureOverlay(name, labels);
    return true;
  }
}

interface RawTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  UpdatedAt?: string;
  Status?: {
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> } };
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[];
}

interface RawNode {
  ID: string;
  Version?: { Index?: number };
  Description?: { Hostname?: string };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean };
}

function taskOf(t: RawTask): TaskInfo {
  const addresses: Record<string, string> = {};
  for (const a of t.NetworksAttachments ?? []) {
    const name = a.Network?.Spec?.Name;
    const addr = a.Addresses?.[0];
    if (name && addr) addresses[name] = addr.split("/")[0];
  }
  return {
    id: t.ID,
    serviceId: t.ServiceID,
    slot: t.Slot ?? 0,
    nodeId: t.NodeID ?? "",
    state: t.Status?.State ?? "",
    desired: t.DesiredState ?? "",
    message: t.Status?.Message ?? "",
    error: t.Status?.Err ?? "",
    containerId: t.Status?.ContainerStatus?.ContainerID ?? null,
    addresses,
    image: t.Spec?.ContainerSpec?.Image ?? "",
    labels: t.Spec?.ContainerSpec?.Labels ?? {},
    updatedAt: t.UpdatedAt ?? "",
    exitCode: t.Status?.ContainerStatus?.ExitCode ?? null,
  };
}
