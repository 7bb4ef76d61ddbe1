import type Docker from "dockerode";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL } from "../docker/labels.js";
import { DeployFailed, invalid, messageOf } from "../errors.js";
import type { Formation } from "../store/formation.js";
import type { Store } from "../store/index.js";
import { type Release, releaseTag } from "../store/releases.js";
import { limitsFor } from "../store/resources.js";
import type { Backend } from "../store/routes.js";
import { unreadyIds } from "../store/unready.js";
import { EMPTY_APP_JSON } from "./app-json.js";
import { checkPlanFor, runChecks } from "./checks.js";
import { containerName, planContainer, type Slot, slotsFor } from "./plan.js";
import type { Runtime } from "./runtime.js";

type Log = (line: string) => void;

interface Started {
  slot: Slot;
  id: string;
  finalName: string;
  port: number | null;
}

export interface DeployOptions {
  /** Replace only these slots (restart of a type or one container); default: everything. */
  only?: (slot: Slot) => boolean;
  /** Run the release phase (Procfile release) first, and app.json scripts.dokku.postdeploy once live. */
  releasePhase: boolean;
  /**
   * Called once traffic has moved (and postdeploy ran), before the old containers drain:
   * the release is live from here, so callers record it and tell the user without
   * waiting for the drain.
   */
  onLive?: () => Promise<void>;
}

const slotOf = (c: Docker.ContainerInfo): Slot => ({
  type: c.Labels[LABEL.process] ?? "",
  index: Number(c.Labels[LABEL.instance] ?? 0),
});

/**
 * Zero-downtime changes to what runs, always under the app's lock (callers take it):
 * start new next to old -> every new container passes its checks -> move the route ->
 * drain the old -> SIGTERM, grace, SIGKILL. On any failure the new containers are removed
 * and the old keep serving.
 */
export class Deployer {
  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly runtime: Runtime,
  ) {}

  async deploy(
    app: string,
    release: Release,
    formation: Formation,
    log: Log,
    opts: DeployOptions,
  ): Promise<void> {
    const tag = releaseTag(release.version);
    const only = opts.only ?? (() => true);
    const existing = await this.runtime.appContainers(app);
    if (opts.releasePhase) await this.oneOff(app, release, "release", log, true);

    const started: Started[] = [];
    try {
      for (const slot of slotsFor(formation).filter(only)) {
        const finalName = containerName(this.settings.namespace, app, slot);
        const id = await this.startContainer(
          app,
          release,
          slot,
          containerName(this.settings.namespace, app, slot, tag),
        );
        started.push({ slot, id, finalName, port: null });
        log(`-----> Starting ${slot.type}.${slot.index} (${tag})`);
      }
      await this.checkAll(app, release, started, log);
    } catch (err) {
      await this.discard(started, err);
    }

    const retiring = existing.filter((c) => only(slotOf(c)) || !opts.only);
    // Containers failing their readiness checks keep running but stay out of the route.
    const unready = await unreadyIds(this.store, app);
    const kept = existing.filter((c) => !retiring.includes(c) && !unready.has(c.Id));
    await this.store.routes.setBackends(app, [
      ...backendsOf(kept, this.portOf(release)),
      ...startedBackends(started),
    ]);
    if (opts.releasePhase) await this.oneOff(app, release, "postdeploy", log, false);
    await opts.onLive?.();
    // Live: a problem from here on is reported, never turned into a failed deploy.
    try {
      await this.retire(retiring, log);
      for (const s of started) {
        // The temporary name only makes `docker ps` less tidy: say so, and go on.
        await this.docker.containers
          .rename(s.id, s.finalName)
          .catch((err) => log(` !     could not rename ${s.finalName}: ${messageOf(err)}`));
      }
    } catch (err) {
      log(` !     retiring the old containers failed (reconcile will remove them): ${messageOf(err)}`);
    }
  }

  /** Scale to a new formation: start and check what is added, drain and stop what is removed. */
  async scale(app: string, release: Release, formation: Formation, log: Log): Promise<void> {
    const existing = (await this.runtime.appContainers(app)).filter(
      (c) => c.Labels[LABEL.release] === releaseTag(release.version),
    );
    const wanted = new Set(slotsFor(formation).map((s) => `${s.type}.${s.index}`));
    const have = new Set(existing.map((c) => `${slotOf(c).type}.${slotOf(c).index}`));
    const started: Started[] = [];
    try {
      for (const slot of slotsFor(formation)) {
        if (have.has(`${slot.type}.${slot.index}`)) continue;
        const name = containerName(this.settings.namespace, app, slot);
        await this.runtime.removeByName(name);
        const id = await this.startContainer(app, release, slot, name);
        started.push({ slot, id, finalName: name, port: null });
        log(`Starting ${slot.type}.${slot.index}`);
      }
      await this.checkAll(app, release, started, log);
    } catch (err) {
      await this.discard(started, err);
    }
    const retiring = existing.filter((c) => !wanted.has(`${slotOf(c).type}.${slotOf(c).index}`));
    // Containers failing their readiness checks keep running but stay out of the route.
    const unready = await unreadyIds(this.store, app);
    const kept = existing.filter((c) => !retiring.includes(c) && !unready.has(c.Id));
    await this.store.routes.setBackends(app, [
      ...backendsOf(kept, this.portOf(release)),
      ...startedBackends(started),
    ]);
    await this.retire(retiring, log);
  }

  /** Stop one container: out of the route first, then SIGTERM with grace. */
  async stopOne(app: string, release: Release, slot: Slot): Promise<void> {
    const existing = await this.runtime.appContainers(app);
    const target = existing.find((c) => slotOf(c).type === slot.type && slotOf(c).index === slot.index);
    if (!target) throw invalid(`${slot.type}.${slot.index} is not running; see \`paas ps\``);
    const unready = await unreadyIds(this.store, app);
    const kept = existing.filter((c) => c !== target && !unready.has(c.Id));
    await this.store.routes.setBackends(app, backendsOf(kept, this.portOf(release)));
    await this.docker.containers.stop(target.Id, this.settings.stopTimeout);
  }

  private portOf(release: Release): number {
    return release.port;
  }

  private async startContainer(app: string, release: Release, slot: Slot, name: string): Promise<string> {
    const limits = limitsFor(await this.store.resources.get(app), slot.type, {
      memory: this.settings.defaultMemory,
    });
    return this.runtime.startSlot(app, release, slot, name, limits);
  }

  /** Run every new container's checks in parallel; throw with the failing checks' output. */
  private async checkAll(app: string, release: Release, started: Started[], log: Log): Promise<void> {
    if (started.length === 0) return;
    const record = await this.store.apps.get(app as never);
    const healthchecks = (release.appJson ?? EMPTY_APP_JSON).healthchecks;
    const disabled = record?.checksDisabled ?? false;
    log(
      disabled
        ? "-----> Checks are disabled for this app"
        : `-----> Checking ${started.length} new container(s)`,
    );
    const results = await Promise.all(
      started.map(async (s) => {
        const info = await this.docker.containers.inspect(s.id);
        const binding = info?.NetworkSettings.Ports?.[`${release.port}/tcp`]?.[0];
        s.port = binding ? Number(binding.HostPort) : null;
        if (!info?.State.Running && !info?.State.Restarting) {
          return {
            ok: false as const,
            output: [`${s.slot.type}.${s.slot.index} exited at once (exit code ${info?.State.ExitCode})`],
          };
        }
        const plan = checkPlanFor(s.slot.type, healthchecks, {
          startTimeoutMs: this.settings.startTimeout * 1000,
          uptimeMs: this.settings.checkUptime * 1000,
          disabled,
        });
        return runChecks(
          {
            name: `${s.slot.type}.${s.slot.index}`,
            port: s.port,
            hostHeader: `${app}.${this.settings.domain}`,
            isAlive: async () => {
              const i = await this.docker.containers.inspect(s.id);
              return Boolean(i?.State.Running) && !i?.State.Restarting && (i?.RestartCount ?? 0) === 0;
            },
          },
          plan,
        );
      }),
    );
    const output = results.flatMap((r) => (r.ok ? [] : r.output));
    if (output.length > 0) throw new DeployFailed(output[0], output.slice(1));
  }

  private async discard(started: Started[], err: unknown): Promise<never> {
    const details = await this.runtime.lastLines(started);
    await Promise.all(started.map((s) => this.docker.containers.remove(s.id)));
    if (err instanceof DeployFailed)
      throw new DeployFailed(err.message, [...(err.details ?? []), ...details]);
    throw new DeployFailed(`could not start the new containers: ${messageOf(err)}`, details);
  }

  /** Old containers are already out of the route: let in-flight requests finish, then stop. */
  private async retire(containers: Docker.ContainerInfo[], log: Log): Promise<void> {
    if (containers.length === 0) return;
    const web = containers.some((c) => c.Labels[LABEL.process] === "web" && c.State === "running");
    if (web && this.settings.drainSeconds > 0) {
      log(`-----> Draining ${containers.length} old container(s) for ${this.settings.drainSeconds}s`);
      await new Promise((r) => setTimeout(r, this.settings.drainSeconds * 1000));
    }
    await Promise.all(
      containers.map(async (c) => {
        await this.docker.containers.stop(c.Id, this.settings.stopTimeout);
        await this.docker.containers.remove(c.Id);
      }),
    );
  }

  /** A one-off container of the release's image: the release phase, or postdeploy. */
  private async oneOff(
    app: string,
    release: Release,
    phase: "release" | "postdeploy",
    log: Log,
    fatal: boolean,
  ) {
    const scripts = (release.appJson ?? EMPTY_APP_JSON).scripts;
    const command =
      // app.json predeploy ran after the build, committed into the image (predeploy.ts).
      phase === "release" ? release.processTypes.release : scripts.postdeploy;
    if (!command) return;
    const tag = releaseTag(release.version);
    const slot = { type: phase, index: 1 };
    const spec = planContainer({
      namespace: this.settings.namespace,
      app,
      release: { ...release, processTypes: { ...release.processTypes, [phase]: command } },
      slot,
      memory: this.settings.defaultMemory,
      name: containerName(this.settings.namespace, app, slot, `${tag}-${Date.now().toString(36)}`),
    });
    spec.Labels = { ...spec.Labels, [LABEL.kind]: "oneoff" };
    spec.HostConfig = { ...spec.HostConfig, RestartPolicy: { Name: "no" } };
    log(`-----> Running ${phase === "release" ? "release command" : "postdeploy script"}: ${command}`);
    const result = await this.docker.containers.runToCompletion(spec, (l) => log(`       ${l}`), 15 * 60_000);
    if (result.exitCode !== 0) {
      const message = `${phase === "release" ? "release command" : "postdeploy script"} failed with exit code ${result.exitCode}`;
      if (fatal) throw new DeployFailed(`${message}; nothing was changed`, result.lastLines);
      log(` !     ${message} (the release is live)`);
    }
  }
}

function backendsOf(containers: Docker.ContainerInfo[], port: number): Backend[] {
  return containers
    .filter((c) => c.Labels[LABEL.process] === "web" && c.State === "running")
    .flatMap((c) => {
      const p = c.Ports.find((x) => x.PrivatePort === port && x.PublicPort);
      return p ? [{ host: "127.0.0.1", port: p.PublicPort, id: c.Names[0]?.replace(/^\//, "") }] : [];
    });
}

function startedBackends(started: Started[]): Backend[] {
  return started
    .filter((s) => s.slot.type === "web" && s.port)
    .map((s) => ({ host: "127.0.0.1", port: s.port!, id: s.finalName }));
}
