import type Docker from "dockerode";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedFilter } from "../docker/labels.js";
import type { PluginHost } from "../plugins/host.js";
import type { Release } from "../store/releases.js";
import { planContainer, type Slot } from "./plan.js";
import { type ContainerExtras, connectExtraNetworks, containerExtras, prepareExtras } from "./plugin-env.js";

export interface ProcessInfo {
  name: string;
  type: string;
  index: number;
  state: "up" | "starting" | "crashed" | "restarting" | "stopped" | "draining";
  release: string;
  command: string;
  startedAt: string | null;
  restarts: number;
  port: number | null;
  container: string;
  /** Swarm mode: the node the task runs on. */
  node?: string;
}

/** What runs: list, inspect, log and remove an app's containers. Deploys live in deploy.ts. */
export class Runtime {
  constructor(
    private readonly settings: Settings,
    private readonly docker: DockerParts,
    /** Plugins answer `container-env` for each container (absent: none). */
    private readonly plugins?: PluginHost,
  ) {}

  /** The plugins' part of a reconcile pass: they bring back the containers they own (add-ons). */
  async reconcilePlugins(log: (msg: string, ctx?: Record<string, unknown>) => void): Promise<void> {
    await this.plugins?.fire("reconcile", { interval: this.settings.reconcileInterval }, (line) =>
      log("plugin reconcile", { line }),
    );
  }

  async appContainers(app: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.containers.list(ownedFilter(this.settings.namespace, app, [`${LABEL.kind}=app`]));
  }

  /** What `ps` and `logs` show: the process containers and the one-offs (`paas run`, cron). */
  async shownContainers(app: string, runningOneOffs: boolean): Promise<Docker.ContainerInfo[]> {
    const all = await this.docker.containers.list(ownedFilter(this.settings.namespace, app));
    return all.filter(
      (c) =>
        c.Labels[LABEL.kind] === "app" ||
        (c.Labels[LABEL.kind] === "oneoff" && (!runningOneOffs || c.State === "running")),
    );
  }

  async lastLines(started: { id: string; slot: Slot }[]): Promise<string[]> {
    const out: string[] = [];
    for (const s of started) {
      const lines = await this.docker.containers.logs(s.id, { tail: 10 }).catch(() => [] as string[]);
      if (lines.length > 0)
        out.push(`last output of ${s.slot.type}.${s.slot.index}:`, ...lines.map((l) => `  ${l}`));
    }
    return out;
  }

  /** Create and start the container for one slot of a release under `name` (replacing ours). */
  async startSlot(
    app: string,
    release: Release,
    slot: Slot,
    name: string,
    limits: { memory: number; cpu: number },
  ): Promise<string> {
    await this.removeByName(name);
    const extras = await this.pluginExtras(app, slot, "process", release.version, release.image);
    const spec = planContainer({
      namespace: this.settings.namespace,
      app,
      release,
      slot,
      memory: limits.memory,
      pidsLimit: this.settings.pidsLimit,
      cpus: limits.cpu,
      name,
      plugin: extras,
    });
    const id = await this.docker.containers.create(spec);
    await connectExtraNetworks(this.docker, id, extras);
    await this.docker.containers.start(id);
    return id;
  }

  /** What plugins add to a container of the app (container-env), its volumes and networks made. */
  async pluginExtras(
    app: string,
    slot: Slot,
    kind: "process" | "oneoff",
    version: number,
    /** The image the container runs: a volume created now is handed to its user. */
    image?: string | null,
  ): Promise<ContainerExtras> {
    const extras = await containerExtras(this.plugins, {
      app,
      type: slot.type,
      index: slot.index,
      kind,
      version,
    });
    await prepareExtras(this.docker, this.settings.namespace, app, extras, image);
    return extras;
  }

  async removeByName(name: string): Promise<void> {
    const info = await this.docker.containers.inspect(name);
    // Prove the platform owns it before deleting.
    if (info && info.Config.Labels?.[LABEL.namespace] === this.settings.namespace) {
      await this.docker.containers.remove(info.Id);
    }
  }

  async ps(app: string): Promise<ProcessInfo[]> {
    const list = await this.shownContainers(app, true);
    // After a deploy the old release's containers finish their requests for a while: they
    // are shown as draining, not as a second web.1.
    const version = (c: Docker.ContainerInfo) => Number((c.Labels[LABEL.release] ?? "v0").slice(1)) || 0;
    const newest = Math.max(0, ...list.map(version));
    const out: ProcessInfo[] = [];
    for (const c of list) {
      const info = await this.docker.containers.inspect(c.Id);
      if (!info) continue;
      const type = c.Labels[LABEL.process] ?? "?";
      const index = Number(c.Labels[LABEL.instance] ?? 0);
      const st = info.State;
      const state: ProcessInfo["state"] =
        (version(c) < newest || (c.Names[0] ?? "").includes(".draining-")) &&
        st.Running &&
        c.Labels[LABEL.kind] === "app"
          ? "draining"
          : st.Restarting
            ? "restarting"
            : st.Running
              ? "up"
              : st.Status === "created"
                ? "starting"
                : st.ExitCode !== 0
                  ? "crashed"
                  : "stopped";
      const port = c.Ports.find((p) => p.PublicPort)?.PublicPort ?? null;
      out.push({
        name: `${type}.${index}`,
        type,
        index,
        state,
        release: c.Labels[LABEL.release] ?? "",
        command: (info.Config.Cmd ?? []).join(" ").replace(/^\/bin\/sh -c /, ""),
        startedAt: st.StartedAt && !st.StartedAt.startsWith("0001") ? st.StartedAt : null,
        restarts: info.RestartCount ?? 0,
        port,
        container: info.Name.replace(/^\//, ""),
      });
    }
    return out.sort(
      (a, b) =>
        a.name.localeCompare(b.name, undefined, { numeric: true }) ||
        Number(a.state === "draining") - Number(b.state === "draining"),
    );
  }

  /** Recent output of the app's containers, each line prefixed with its process. */
  async logs(app: string, lines: number): Promise<string[]> {
    const out: string[] = [];
    for (const c of await this.shownContainers(app, false)) {
      const proc = `${c.Labels[LABEL.process]}.${c.Labels[LABEL.instance]}`;
      const got = await this.docker.containers.logs(c.Id, { tail: lines, timestamps: true });
      for (const l of got) {
        const sp = l.indexOf(" ");
        out.push(`${l.slice(0, sp)} app[${proc}]: ${l.slice(sp + 1)}`);
      }
    }
    return out.sort().slice(-lines);
  }

  /** Follow the app's containers' output; returns a stop function. */
  async follow(app: string, onLine: (line: string) => void): Promise<() => void> {
    const stops: (() => void)[] = [];
    for (const c of await this.shownContainers(app, true)) {
      const proc = `${c.Labels[LABEL.process]}.${c.Labels[LABEL.instance]}`;
      stops.push(await this.docker.containers.follow(c.Id, (l) => onLine(`app[${proc}]: ${l}`)));
    }
    return () => {
      for (const s of stops) s();
    };
  }

  /** Remove every container and image of the app. */
  async destroy(app: string): Promise<void> {
    const containers = await this.docker.containers.list(ownedFilter(this.settings.namespace, app));
    await Promise.all(containers.map((c) => this.docker.containers.remove(c.Id)));
    await this.docker.images.removeAll(ownedFilter(this.settings.namespace, app));
  }
}
