import type Docker from "dockerode";
import { EMPTY_APP_JSON } from "../app-json/app-json.js";
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
import { checkPlanFor, runChecks } from "./checks.js";
import { startBatches } from "./formation-rule.js";
import { containerName, planContainer, type Slot, slotsFor } from "./plan.js";
import { connectExtraNetworks } from "./plugin-env.js";
import { Retirer } from "./retire.js";
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
   * Called once the new containers serve and stayed up through the watch window (and
   * postdeploy ran), before the old containers are marked draining: the release is live
   * from here, so callers record it and tell the pusher. A container dying inside the
   * window means no onLive: the route went back and the deploy throws.
   */
  onLive?: () => Promise<void>;
}

const slotOf = (c: Docker.ContainerInfo): Slot => ({
  type: c.Labels[LABEL.process] ?? "",
  index: Number(c.Labels[LABEL.instance] ?? 0),
});

/**
 * Zero-downtime changes to what runs, always under the app's lock (callers take it):
 * start new next to old -> every new container answers (port, startup checks) -> move the
 * route, the old web containers standing by as the router's fallback -> the new ones stay
 * up PAAS_CHECK_UPTIME -> mark the old draining (retire.ts: SIGTERM at their deadline,
 * after the lock is released). On any failure, inside the window too, the route goes back,
 * the new containers are removed and the old keep serving.
 */
export class Deployer {
  private readonly retirer: Retirer;

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly runtime: Runtime,
    log?: (msg: string, ctx?: Record<string, unknown>) => void,
  ) {
    this.retirer = new Retirer(settings, store, docker, log);
  }

  /** Forget pending drain timers (shutdown); the records let reconcile finish them later. */
  close(): void {
    this.retirer.close();
  }

  async deploy(
    app: string,
    release: Release,
    formation: Formation,
    log: Log,
    opts: DeployOptions,
  ): Promise<void> {
    const tag = releaseTag(release.version);
    const only = opts.only ?? (() => true);
    // Containers still draining from an earlier deploy have their own deadline: not ours.
    const draining = await this.retirer.sweep(app);
    const existing = (await this.runtime.appContainers(app)).filter((c) => !draining.has(c.Id));
    if (opts.releasePhase) await this.oneOff(app, release, "release", log, true);

    const started: Started[] = [];
    let windowMs = 0;
    try {
      // Dokku's max_parallel: a type may start (and pass its checks) N containers at a time.
      const batches = startBatches(slotsFor(formation).filter(only), release.appJson?.formation ?? {});
      for (const batch of batches) {
        const group: Started[] = [];
        for (const slot of batch) {
          const finalName = containerName(this.settings.namespace, app, slot);
          const id = await this.startContainer(
            app,
            release,
            slot,
            containerName(this.settings.namespace, app, slot, tag),
          );
          group.push({ slot, id, finalName, port: null });
          log(`-----> Starting ${slot.type}.${slot.index} (${tag})`);
        }
        started.push(...group);
        windowMs = Math.max(windowMs, await this.checkAll(app, release, group, log));
      }
    } catch (err) {
      await this.discard(started, err);
    }

    const retiring = existing.filter((c) => only(slotOf(c)) || !opts.only);
    // Containers failing their readiness checks keep running but stay out of the route.
    const unready = await unreadyIds(this.store, app);
    const kept = existing.filter((c) => !retiring.includes(c) && !unready.has(c.Id));
    const before = await this.store.routes.get(app);
    const serving = [...backendsOf(kept), ...startedBackends(started)];
    // Traffic moves now; the old web containers stand by (still running, still in the
    // entry as a fallback) until the new ones have stayed up through the window.
    await this.store.routes.setBackends(app, serving, backendsOf(retiring));
    log(
      serving.length > 0
        ? `-----> Traffic moved to ${tag} (${started.length} new container(s))`
        : `-----> ${tag} runs ${started.length} new container(s); no web process, so nothing is routed`,
    );
    if (windowMs > 0) {
      const old = retiring.length > 0 ? `; the old container(s) stand by until then` : "";
      log(`-----> Watching the new container(s) for ${windowMs / 1000}s${old}`);
      const died = await this.watch(started, windowMs);
      if (died) {
        // Back to exactly what served before, then the usual failure path.
        await this.store.routes.setBackends(app, before?.backends ?? backendsOf(existing), []);
        log(` !     ${died} stopped within ${windowMs / 1000}s: traffic is back on the previous containers`);
        await this.discard(
          started,
          new DeployFailed(`${died} exited within ${Math.round(windowMs / 1000)}s of starting`),
        );
      }
    }
    if (opts.releasePhase) await this.oneOff(app, release, "postdeploy", log, false);
    this.announceRetire(retiring, log);
    await opts.onLive?.();
    // Live: a problem from here on is reported, never turned into a failed deploy.
    try {
      await this.retire(app, retiring);
      await this.store.routes.setBackends(app, serving, []);
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
    const draining = await this.retirer.sweep(app);
    const existing = (await this.runtime.appContainers(app)).filter(
      (c) => c.Labels[LABEL.release] === releaseTag(release.version) && !draining.has(c.Id),
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
      const windowMs = await this.checkAll(app, release, started, log);
      const died = windowMs > 0 ? await this.watch(started, windowMs) : null;
      if (died) throw new DeployFailed(`${died} exited within ${Math.round(windowMs / 1000)}s of starting`);
    } catch (err) {
      await this.discard(started, err);
    }
    const retiring = existing.filter((c) => !wanted.has(`${slotOf(c).type}.${slotOf(c).index}`));
    // Containers failing their readiness checks keep running but stay out of the route.
    const unready = await unreadyIds(this.store, app);
    const kept = existing.filter((c) => !retiring.includes(c) && !unready.has(c.Id));
    await this.store.routes.setBackends(app, [...backendsOf(kept), ...startedBackends(started)], []);
    this.announceRetire(retiring, log);
    await this.retire(app, retiring);
  }

  /** Stop one container: out of the route first, then SIGTERM with grace. */
  async stopOne(app: string, _release: Release, slot: Slot): Promise<void> {
    // An old web.1 still draining is not the web.1 the user means.
    const draining = await this.retirer.sweep(app);
    const existing = (await this.runtime.appContainers(app)).filter((c) => !draining.has(c.Id));
    const target = existing.find((c) => slotOf(c).type === slot.type && slotOf(c).index === slot.index);
    if (!target) throw invalid(`${slot.type}.${slot.index} is not running; see \`paas ps\``);
    const unready = await unreadyIds(this.store, app);
    const kept = existing.filter((c) => c !== target && !unready.has(c.Id));
    await this.store.routes.setBackends(app, backendsOf(kept), []);
    await this.docker.containers.stop(target.Id, this.settings.stopTimeout);
  }

  private async startContainer(app: string, release: Release, slot: Slot, name: string): Promise<string> {
    const limits = limitsFor(await this.store.resources.get(app), slot.type, {
      memory: this.settings.defaultMemory,
    });
    return this.runtime.startSlot(app, release, slot, name, limits);
  }

  /**
   * Run every new container's checks in parallel, all but the stay-up one; throw with the
   * failing checks' output. Returns how long the new containers must then stay up (ms): the
   * deploy watches that window with traffic already on them (see watch()).
   */
  private async checkAll(app: string, release: Release, started: Started[], log: Log): Promise<number> {
    if (started.length === 0) return 0;
    const record = await this.store.apps.get(app as never);
    const healthchecks = (release.appJson ?? EMPTY_APP_JSON).healthchecks;
    const disabled = record?.checksDisabled ?? false;
    log(
      disabled
        ? "-----> Checks are disabled for this app"
        : `-----> Checking ${started.length} new container(s)`,
    );
    let windowMs = 0;
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
        windowMs = Math.max(windowMs, plan.uptimeMs);
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
          { ...plan, uptimeMs: 0 },
        );
      }),
    );
    const output = results.flatMap((r) => (r.ok ? [] : r.output));
    if (output.length > 0) throw new DeployFailed(output[0], output.slice(1));
    return windowMs;
  }

  /** Poll the new containers for windowMs; the first one that stopped or restarted, or null. */
  private async watch(started: Started[], windowMs: number): Promise<string | null> {
    const until = Date.now() + windowMs;
    for (;;) {
      for (const s of started) {
        const i = await this.docker.containers.inspect(s.id);
        const up = Boolean(i?.State.Running) && !i?.State.Restarting && (i?.RestartCount ?? 0) === 0;
        if (!up) return `${s.slot.type}.${s.slot.index}`;
      }
      const left = until - Date.now();
      if (left <= 0) return null;
      await new Promise((r) => setTimeout(r, Math.min(200, left)));
    }
  }

  private async discard(started: Started[], err: unknown): Promise<never> {
    const details = await this.runtime.lastLines(started);
    await Promise.all(started.map((s) => this.docker.containers.remove(s.id)));
    if (err instanceof DeployFailed)
      throw new DeployFailed(err.message, [...(err.details ?? []), ...details]);
    throw new DeployFailed(`could not start the new containers: ${messageOf(err)}`, details);
  }

  /**
   * Old containers are already out of the route: record them as draining (the next deploy
   * need not wait for them); the retirer stops them at their deadline.
   */
  private async retire(app: string, containers: Docker.ContainerInfo[]): Promise<void> {
    await this.retirer.drain(app, containers);
  }

  /** Tell the pusher what happens to the old containers (before the push ends). */
  private announceRetire(containers: Docker.ContainerInfo[], log: Log): void {
    if (containers.length === 0) return;
    const serving = backendsOf(containers).length;
    if (serving > 0 && this.settings.drainSeconds > 0) {
      log(
        `-----> Draining ${serving} old container(s) for ${this.settings.drainSeconds}s (in the background)`,
      );
    } else log(`-----> Stopping ${containers.length} old container(s)`);
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
    // The release phase (migrations) gets what the app's containers get: its add-ons' networks, its volumes.
    const extras = await this.runtime.pluginExtras(app, slot, "oneoff", release.version, release.image);
    const spec = planContainer({
      namespace: this.settings.namespace,
      app,
      release: { ...release, processTypes: { ...release.processTypes, [phase]: command } },
      slot,
      memory: this.settings.defaultMemory,
      pidsLimit: this.settings.pidsLimit,
      name: containerName(this.settings.namespace, app, slot, `${tag}-${Date.now().toString(36)}`),
      plugin: extras,
    });
    spec.Labels = { ...spec.Labels, [LABEL.kind]: "oneoff" };
    spec.HostConfig = { ...spec.HostConfig, RestartPolicy: { Name: "no" } };
    log(`-----> Running ${phase === "release" ? "release command" : "postdeploy script"}: ${command}`);
    const result = await this.docker.containers.runToCompletion(
      spec,
      (l) => log(`       ${l}`),
      15 * 60_000,
      (id) => connectExtraNetworks(this.docker, id, extras),
    );
    if (result.exitCode !== 0) {
      const message = `${phase === "release" ? "release command" : "postdeploy script"} failed with exit code ${result.exitCode}`;
      // Its output was streamed above: the failure does not repeat its last lines.
      if (fatal) throw new DeployFailed(`${message}; nothing was changed`);
      log(` !     ${message} (the release is live)`);
    }
  }
}

/** Backends of the running web containers among these (their published loopback port). */
function backendsOf(containers: Docker.ContainerInfo[]): Backend[] {
  return containers
    .filter((c) => c.Labels[LABEL.process] === "web" && c.State === "running")
    .flatMap((c) => {
      const p = c.Ports.find((x) => x.PublicPort && x.IP !== "::");
      return p ? [{ host: "127.0.0.1", port: p.PublicPort, id: c.Names[0]?.replace(/^\//, "") }] : [];
    });
}

function startedBackends(started: Started[]): Backend[] {
  return started
    .filter((s) => s.slot.type === "web" && s.port)
    .map((s) => ({ host: "127.0.0.1", port: s.port!, id: s.finalName }));
}
