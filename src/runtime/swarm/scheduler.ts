import { EMPTY_APP_JSON } from "../../app-json/app-json.js";
import type { Settings } from "../../config.js";
import type { DockerParts } from "../../docker/index.js";
import { LABEL, ownedFilter, ownedLabels } from "../../docker/labels.js";
import type { TaskInfo } from "../../docker/services.js";
import { DeployFailed, invalid, messageOf } from "../../errors.js";
import type { LogFn, Logger } from "../../log.js";
import { discoveryFor } from "../../plugins/discovery.js";
import type { Formation } from "../../store/formation.js";
import type { Store } from "../../store/index.js";
import { type Release, releaseTag } from "../../store/releases.js";
import { limitsFor } from "../../store/resources.js";
import { unreadyIds } from "../../store/unready.js";
import { checkPlanFor, runChecks } from "../checks.js";
import type { DeployOptions } from "../deploy.js";
import { runPhaseScript } from "../phase-script.js";
import type { Slot } from "../plan.js";
import { relayedOneOffs } from "../run-relay/ps.js";
import type { Runtime } from "../runtime.js";
import type { Scheduler } from "../scheduler.js";
import { serviceExtras, swarmNetworkName, volumePin } from "./extras.js";
import { type ClusterOp, runClusterOp, servingNodes } from "./nodes.js";
import { followTasks, tasksOutput } from "./output.js";
import { planService } from "./plan.js";
import { SwarmReconciler } from "./reconcile.js";
import { ReleaseRegistry } from "./registry.js";
import {
  type AppService,
  appServiceOf,
  backendsOfTasks,
  currentByType,
  failureOf,
  processesOf,
} from "./tasks.js";

type Log = (line: string) => void;

interface Created {
  svc: AppService;
  type: string;
  replicas: number;
}

/**
 * Swarm mode: each process type of an app is a Swarm service, replicas = formation. A
 * deploy creates the release's services next to the old ones, waits for their tasks,
 * runs the port check and app.json startup checks against the tasks' overlay addresses
 * (this process is on the overlay network, as the router is), moves the route, and
 * removes the old services after the drain. A failing check removes the new services:
 * the old ones never stopped serving, and the push is rejected with the check output.
 */
export class SwarmScheduler implements Scheduler {
  readonly kind = "swarm" as const;
  private network: Promise<string> | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Services retire() removes once they drained: a scale in that window must not reuse them. */
  private readonly retiring = new Set<string>();
  private readonly log: LogFn;
  private readonly registry: ReleaseRegistry;

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly runtime: Runtime,
    private readonly logger: Logger,
  ) {
    this.log = logger.child("swarm");
    this.registry = new ReleaseRegistry(settings, docker);
  }

  /** The overlay network, created once (attachable: the platform's own container joins it). */
  ensureNetwork(): Promise<string> {
    this.network ??= this.docker.services
      .ensureOverlay(this.settings.swarmNetwork, ownedLabels(this.settings.namespace))
      .catch((err) => {
        this.network = null;
        throw err;
      });
    return this.network;
  }

  async appServices(app: string): Promise<AppService[]> {
    const list = await this.docker.services.list(
      ownedFilter(this.settings.namespace, app, [`${LABEL.kind}=service`]),
    );
    return list.map(appServiceOf);
  }

  async deploy(app: string, release: Release, formation: Formation, log: Log, opts: DeployOptions) {
    await this.ensureNetwork();
    const before = await this.appServices(app);
    // A restart of one container replaces its whole type: tasks have no identity of their own.
    const types = Object.keys(formation).filter((type) => !opts.only || opts.only({ type, index: 1 }));
    if (opts.releasePhase) await this.phase(app, release, "release", log, true);
    const generation = `${releaseTag(release.version)}-${Date.now().toString(36)}`;
    const created: Created[] = [];
    try {
      if (types.some((t) => (formation[t] ?? 0) > 0)) await this.registry.imageFor(app, release, log);
      for (const type of types.filter((t) => (formation[t] ?? 0) > 0)) {
        const svc = await this.createService(app, release, type, formation[type], generation, log);
        created.push({ svc, type, replicas: formation[type] });
        log(
          `-----> Starting ${type} x${formation[type]} (${releaseTag(release.version)}, service ${svc.name})`,
        );
      }
      await this.startAndCheck(app, release, created, log);
    } catch (err) {
      await this.discard(created, err);
    }
    const retiring = before.filter((s) => types.includes(s.type));
    const route = await this.store.routes.get(app);
    const web = created.find((c) => c.type === "web");
    if (web || retiring.some((s) => s.type === "web")) {
      const serving = web ? await this.backends(app, web.svc.id, release.port) : [];
      await this.store.routes.setBackends(app, serving, route?.backends ?? []);
      log(`-----> Traffic moved to ${releaseTag(release.version)} (${serving.length} task(s))`);
    }
    if (opts.releasePhase) await this.phase(app, release, "postdeploy", log, false);
    await opts.onLive?.();
    if (web) await this.store.routes.setBackends(app, await this.backends(app, web.svc.id, release.port), []);
    this.retire(retiring, log);
    // Retention in the registry too: a failure is reported, the release stays live.
    await this.registry
      .prune(this.store, app)
      .then((n) => n > 0 && log(`-----> Removed ${n} old release image(s) from the registry`))
      .catch((err) => log(` !     registry retention failed: ${messageOf(err)}`));
  }

  async scale(app: string, release: Release, formation: Formation, log: Log) {
    await this.ensureNetwork();
    // A type scaled to 0 a moment ago still has its draining service: it goes soon, so a new
    // one is made (resizing it made the scale fail or left the type down until reconcile).
    const current = currentByType((await this.appServices(app)).filter((s) => !this.retiring.has(s.id)));
    const generation = `${releaseTag(release.version)}-${Date.now().toString(36)}`;
    const started: Created[] = [];
    for (const [type, n] of Object.entries(formation)) {
      const svc = current.get(type);
      if (!svc && n > 0) {
        const created = await this.createService(app, release, type, n, generation, log);
        started.push({ svc: created, type, replicas: n });
      } else if (svc && n === 0) {
        this.retire([svc], log);
      } else if (svc && svc.replicas !== n) {
        const spec = structuredClone(svc.spec) as { Mode: { Replicated: { Replicas: number } } };
        spec.Mode = { Replicated: { Replicas: n } };
        await this.docker.services.update(svc.id, svc.version, spec as never, this.registry.auth);
        started.push({ svc, type, replicas: n });
      }
      log(`Scaling ${type} to ${n}`);
    }
    try {
      await this.startAndCheck(app, release, started, log);
    } catch (err) {
      // A new service goes; a resized one keeps its tasks (reconcile goes back to the formation).
      await this.discard(
        started.filter((s) => !current.has(s.type)),
        err,
      );
    }
    await this.refreshRoute(app, release.port);
  }

  async stopOne(_app: string, _release: Release, slot: Slot): Promise<void> {
    throw invalid(
      `swarm mode cannot stop ${slot.type}.${slot.index} alone (Swarm replaces a stopped task): use paas ps:scale ${slot.type}=N`,
    );
  }

  async ps(app: string) {
    const services = await this.appServices(app);
    // One-offs run as containers on any node: their workers publish them (run-relay/).
    const oneOffs = await relayedOneOffs(this.store, app);
    if (services.length === 0) return oneOffs;
    const tasks = await this.docker.services.tasks({ label: [`${LABEL.app}=${app}`] });
    const mine = new Set(services.map((s) => s.id));
    const processes = processesOf(
      services,
      tasks.filter((t) => mine.has(t.serviceId)),
      await this.docker.services.nodes(),
    );
    return [...processes, ...oneOffs];
  }

  /** Output of the app's tasks that run on this engine's node (other nodes: not yet). */
  logs(app: string, lines: number): Promise<string[]> {
    return tasksOutput(this.docker, this.appServices(app), app, lines);
  }

  follow(app: string, onLine: (line: string) => void): Promise<() => void> {
    return followTasks(this.docker, this.appServices(app), app, onLine);
  }

  async destroy(app: string): Promise<void> {
    for (const s of await this.appServices(app)) await this.docker.services.remove(s.id);
    await this.runtime.destroy(app);
    // Its release images in the registry go too (its releases are gone: prune keeps none).
    await this.registry
      .prune(this.store, app)
      .catch((err) =>
        this.log(`registry clean-up of ${app} failed`, { level: "warn", error: messageOf(err) }),
      );
    // The app network's overlay (the network plugin removes the bridge of its own name only),
    // once the tasks left it (bounded retries): else it stayed after every destroy.
    const overlay = swarmNetworkName(discoveryFor(this.settings.namespace).appNetwork(app));
    for (let i = 0; ; i++) {
      const err = await this.docker.networks.remove(overlay).then(
        () => null,
        (e: unknown) => e,
      );
      if (!err) break;
      if (i >= 40) {
        this.log(`the network ${overlay} of ${app} stays`, { level: "warn", error: messageOf(err) });
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The plugins' part of a reconcile pass (add-on services come back), as on one engine. */
  reconcilePlugins(log: LogFn): Promise<void> {
    return this.runtime.reconcilePlugins(log);
  }

  /** Reconcile (worker role); the tasks' liveness/readiness monitor (swarm/health.ts) starts next to it. */
  startReconcile(): () => Promise<void> {
    const r = new SwarmReconciler(this.settings, this.store, this, this.logger.child("reconcile"));
    r.start();
    // Which registry, said once (PAAS_REGISTRY unset: setup's own); then the base and stack
    // images go to it once per worker start, for later nodes.
    void this.registry
      .describe()
      .then(({ line, ok }) => this.log(line, ok ? {} : { level: "warn" }))
      .then(() => this.registry.pushBaseImages())
      .then(
        (pushed) => pushed.length > 0 && this.log("base images pushed to the registry", { images: pushed }),
      )
      .catch((err) => this.log("pushing base images failed", { level: "warn", error: messageOf(err) }));
    return () => r.stop();
  }

  cluster(op: ClusterOp): Promise<unknown> {
    return runClusterOp(this.docker.services, op, async () => {
      // Every app's route without the draining node's tasks, then their requests finish.
      for (const app of await this.store.apps.list()) {
        const record = await this.store.apps.get(app);
        const release = record?.release ? await this.store.releases.get(app, record.release) : null;
        if (release) await this.refreshRoute(app, release.port);
      }
      await sleep(this.settings.drainSeconds * 1000);
    });
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  removeService(id: string): Promise<void> {
    return this.docker.services.remove(id);
  }

  /** Point the app's route at the running tasks of its current web service. */
  async refreshRoute(app: string, port: number): Promise<boolean> {
    const web = currentByType(await this.appServices(app)).get("web");
    const backends = web ? await this.backends(app, web.id, port) : [];
    const route = await this.store.routes.get(app);
    const same = JSON.stringify(route?.backends ?? []) === JSON.stringify(backends);
    if (!same) await this.store.routes.setBackends(app, backends, []);
    return !same;
  }

  async createService(
    app: string,
    release: Release,
    type: string,
    replicas: number,
    generation: string,
    log: Log = (line) => this.log(line.trim(), { app }),
  ): Promise<AppService> {
    if (!release.image) throw new Error("release has no image");
    const plugin = await serviceExtras(
      this.runtime,
      this.docker.services,
      this.settings.namespace,
      { app, type, version: release.version },
      log,
    );
    const limits = limitsFor(await this.store.resources.get(app), type, {
      memory: this.settings.defaultMemory,
    });
    const spec = planService({
      namespace: this.settings.namespace,
      app,
      release,
      type,
      replicas,
      memory: limits.memory,
      cpus: limits.cpu,
      pidsLimit: this.settings.pidsLimit,
      network: this.settings.swarmNetwork,
      constraints: [
        ...(await this.store.placement.get(app, type)),
        ...(await volumePin(this.settings, this.docker.services, plugin)),
      ],
      generation,
      image: await this.registry.imageFor(app, release),
      stopGraceSeconds: this.settings.stopTimeout,
      monitorSeconds: this.settings.checkUptime,
      plugin,
      volumeDriver: this.settings.swarmVolumeDriver,
    });
    await this.docker.services.create(spec, this.registry.auth);
    const svc = await this.docker.services.inspect(String(spec.Name));
    if (!svc) throw new Error(`service ${String(spec.Name)} vanished right after it was created`);
    return appServiceOf(svc);
  }

  /** Running tasks on nodes that may serve (not down, drained or being drained), and ready. */
  private async backends(app: string, serviceId: string, port: number) {
    const tasks = await this.docker.services.tasks({ service: [serviceId], "desired-state": ["running"] });
    const serving = servingNodes(await this.docker.services.nodes());
    // Tasks failing a readiness check (swarm/health.ts) stay out.
    const unready = await unreadyIds(this.store, app);
    return backendsOfTasks(
      tasks.filter((t) => serving.has(t.nodeId) && !unready.has(t.id)),
      this.settings.swarmNetwork,
      port,
    );
  }

  /** Wait until each service runs its replicas, then run the checks on every new task. */
  private async startAndCheck(app: string, release: Release, created: Created[], log: Log) {
    if (created.length === 0) return;
    const deadline = Date.now() + this.settings.startTimeout * 1000;
    const running: { type: string; task: TaskInfo }[] = [];
    for (const c of created) {
      for (;;) {
        const tasks = await this.docker.services.tasks({ service: [c.svc.id] });
        const up = tasks.filter((t) => t.desired === "running" && t.state === "running");
        if (up.length >= c.replicas) {
          running.push(...up.map((task) => ({ type: c.type, task })));
          break;
        }
        const failed = failureOf(tasks);
        if (failed) throw new DeployFailed(`${c.type} could not start: ${failed}`);
        if (Date.now() > deadline) {
          const why = tasks.find((t) => t.desired === "running" && t.state !== "running");
          throw new DeployFailed(
            `${c.type} did not start within ${this.settings.startTimeout}s${why ? `: ${why.state} ${why.error || why.message}` : ""}`,
          );
        }
        await sleep(300);
      }
    }
    const record = await this.store.apps.get(app as never);
    const disabled = record?.checksDisabled ?? false;
    log(
      disabled ? "-----> Checks are disabled for this app" : `-----> Checking ${running.length} new task(s)`,
    );
    const healthchecks = (release.appJson ?? EMPTY_APP_JSON).healthchecks;
    const results = await Promise.all(
      running.map(({ type, task }) =>
        runChecks(
          {
            name: `${type}.${task.slot}`,
            host: task.addresses[this.settings.swarmNetwork],
            port: type === "web" ? release.port : null,
            hostHeader: `${app}.${this.settings.domain}`,
            isAlive: async () => {
              const [t] = await this.docker.services.tasks({ id: [task.id] });
              return t?.state === "running" && t.desired === "running";
            },
          },
          checkPlanFor(type, healthchecks, {
            startTimeoutMs: this.settings.startTimeout * 1000,
            uptimeMs: this.settings.checkUptime * 1000,
            disabled,
          }),
        ),
      ),
    );
    const output = results.flatMap((r) => (r.ok ? [] : r.output));
    if (output.length > 0) throw new DeployFailed(output[0], output.slice(1));
  }

  private async discard(created: Created[], err: unknown): Promise<never> {
    const details: string[] = [];
    for (const c of created) {
      const tasks = await this.docker.services.tasks({ service: [c.svc.id] }).catch(() => []);
      for (const t of tasks.filter((x) => x.containerId).slice(0, 2)) {
        const lines = await this.docker.containers.logs(t.containerId ?? "", { tail: 10 }).catch(() => []);
        if (lines.length > 0)
          details.push(`last output of ${c.type}.${t.slot}:`, ...lines.map((l) => `  ${l}`));
      }
      await this.docker.services.remove(c.svc.id).catch(() => {});
    }
    if (err instanceof DeployFailed)
      throw new DeployFailed(err.message, [...(err.details ?? []), ...details]);
    throw new DeployFailed(`could not start the new services: ${messageOf(err)}`, details);
  }

  /** Old services leave after the drain (out of the route already); reconcile removes any left. */
  private retire(services: AppService[], log: Log) {
    if (services.length === 0) return;
    log(`-----> Removing ${services.length} old service(s) after ${this.settings.drainSeconds}s of draining`);
    for (const s of services) this.retiring.add(s.id);
    const t = setTimeout(() => {
      this.timers.delete(t);
      for (const s of services) {
        void this.docker.services
          .remove(s.id)
          .catch((err) => this.log("remove failed", { error: messageOf(err) }))
          .finally(() => this.retiring.delete(s.id));
      }
    }, this.settings.drainSeconds * 1000);
    t.unref();
    this.timers.add(t);
  }

  /** The release phase and postdeploy: a one-off container of the release on this node's engine. */
  private async phase(
    app: string,
    release: Release,
    phase: "release" | "postdeploy",
    log: Log,
    fatal: boolean,
  ) {
    const command =
      phase === "release"
        ? release.processTypes.release
        : (release.appJson ?? EMPTY_APP_JSON).scripts.postdeploy;
    if (!command) return;
    log(`-----> Running ${phase === "release" ? "release command" : "postdeploy script"}: ${command}`);
    const deps = { settings: this.settings, docker: this.docker };
    const result = await runPhaseScript(deps, app, release, phase, command, log);
    if (result.exitCode !== 0 && fatal)
      throw new DeployFailed(`${phase} command failed with exit code ${result.exitCode}`);
    if (result.exitCode !== 0) log(` !     ${phase} script failed with exit code ${result.exitCode}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
