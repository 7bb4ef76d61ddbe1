import type Docker from "dockerode";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedFilter } from "../docker/labels.js";
import { DeployFailed, messageOf } from "../errors.js";
import { formationFor } from "../store/formation.js";
import type { Store } from "../store/index.js";
import type { Release } from "../store/releases.js";
import { releaseTag } from "../store/releases.js";
import type { Backend } from "../store/routes.js";
import { containerName, planContainer, type Slot, slotsFor } from "./plan.js";
import { waitForPort } from "./readiness.js";

export interface ProcessInfo {
  name: string;
  type: string;
  index: number;
  state: "up" | "starting" | "crashed" | "restarting" | "stopped";
  release: string;
  command: string;
  startedAt: string | null;
  restarts: number;
  port: number | null;
  container: string;
}

interface Started {
  slot: Slot;
  id: string;
  finalName: string;
  port: number | null;
}

/**
 * Release -> containers. A deploy starts the new release next to the old one, waits until
 * every web container accepts connections, moves the route, then retires the old ones.
 * On any failure the new containers go and the old release keeps serving.
 */
export class Runtime {
  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
  ) {}

  async appContainers(app: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.containers.list(ownedFilter(this.settings.namespace, app, [`${LABEL.kind}=app`]));
  }

  async deploy(app: string, release: Release, log: (line: string) => void): Promise<void> {
    const formation = formationFor(await this.store.formation.get(app), release.processTypes);
    const old = await this.appContainers(app);
    const tag = releaseTag(release.version);
    const started: Started[] = [];
    try {
      for (const slot of slotsFor(formation)) {
        const finalName = containerName(this.settings.namespace, app, slot);
        const tempName = containerName(this.settings.namespace, app, slot, tag);
        await this.removeByName(tempName);
        const spec = planContainer({
          namespace: this.settings.namespace,
          app,
          release,
          slot,
          memory: this.settings.defaultMemory,
          name: tempName,
        });
        const id = await this.docker.containers.create(spec);
        started.push({ slot, id, finalName, port: null });
        await this.docker.containers.start(id);
        log(`-----> Starting ${slot.type}.${slot.index} (${tag})`);
      }
      for (const s of started) await this.checkStarted(s, release);
    } catch (err) {
      const details = await this.lastLines(started);
      await Promise.all(started.map((s) => this.docker.containers.remove(s.id)));
      if (err instanceof DeployFailed)
        throw new DeployFailed(err.message, [...(err.details ?? []), ...details]);
      throw new DeployFailed(`could not start ${tag}: ${messageOf(err)}`, details);
    }

    // Every new container is up: move traffic, then retire the old release.
    const backends: Backend[] = started
      .filter((s) => s.slot.type === "web" && s.port)
      .map((s) => ({ host: "127.0.0.1", port: s.port!, id: s.finalName }));
    await this.store.routes.setBackends(app, backends);
    await this.store.formation.set(app, formation);
    if (old.length > 0) {
      log(`-----> Retiring ${old.length} container(s) of the previous release`);
      // In-flight requests on the old containers get a moment to finish.
      await new Promise((r) => setTimeout(r, 1000));
      await Promise.all(
        old.map((c) => this.docker.containers.stop(c.Id, 10).then(() => this.docker.containers.remove(c.Id))),
      );
    }
    for (const s of started) {
      await this.docker.containers.rename(s.id, s.finalName).catch(() => {});
    }
  }

  /** Wait until a new container is running and (web) accepts connections on its port. */
  private async checkStarted(s: Started, release: Release): Promise<void> {
    const name = `${s.slot.type}.${s.slot.index}`;
    const info = await this.docker.containers.inspect(s.id);
    if (s.slot.type !== "web") {
      if (!info?.State.Running)
        throw new DeployFailed(`${name} exited at once (exit code ${info?.State.ExitCode})`);
      return;
    }
    const binding = info?.NetworkSettings.Ports?.[`${release.port}/tcp`]?.[0];
    if (!binding) throw new DeployFailed(`${name} has no published port`);
    s.port = Number(binding.HostPort);
    const outcome = await waitForPort("127.0.0.1", s.port, {
      timeoutMs: this.settings.startTimeout * 1000,
      isAlive: async () => {
        const i = await this.docker.containers.inspect(s.id);
        return Boolean(i?.State.Running) && (i?.RestartCount ?? 0) === 0;
      },
    });
    if (outcome === "died") throw new DeployFailed(`${name} crashed while starting`);
    if (outcome === "timeout") {
      throw new DeployFailed(
        `${name} did not accept connections on port ${release.port} within ${this.settings.startTimeout}s: make the web process listen on $PORT`,
      );
    }
  }

  private async lastLines(started: Started[]): Promise<string[]> {
    const out: string[] = [];
    for (const s of started) {
      const lines = await this.docker.containers.logs(s.id, { tail: 10 }).catch(() => [] as string[]);
      if (lines.length > 0)
        out.push(`last output of ${s.slot.type}.${s.slot.index}:`, ...lines.map((l) => `  ${l}`));
    }
    return out;
  }

  private async removeByName(name: string): Promise<void> {
    const info = await this.docker.containers.inspect(name);
    // Prove the platform owns it before deleting.
    if (info && info.Config.Labels?.[LABEL.namespace] === this.settings.namespace) {
      await this.docker.containers.remove(info.Id);
    }
  }

  async ps(app: string): Promise<ProcessInfo[]> {
    const list = await this.appContainers(app);
    const out: ProcessInfo[] = [];
    for (const c of list) {
      const info = await this.docker.containers.inspect(c.Id);
      if (!info) continue;
      const type = c.Labels[LABEL.process] ?? "?";
      const index = Number(c.Labels[LABEL.instance] ?? 0);
      const st = info.State;
      const state: ProcessInfo["state"] = st.Restarting
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
    return out.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  /** Recent output of the app's containers, each line prefixed with its process. */
  async logs(app: string, lines: number): Promise<string[]> {
    const out: string[] = [];
    for (const c of await this.appContainers(app)) {
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
    for (const c of await this.appContainers(app)) {
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
    const images = await this.docker.images.list(ownedFilter(this.settings.namespace, app));
    for (const img of images) await this.docker.images.remove(img.Id);
  }
}
