import { checksOfType, type HealthCheck } from "../../app-json/checks.js";
import type { Settings } from "../../config.js";
import type { DockerParts } from "../../docker/index.js";
import type { TaskInfo } from "../../docker/services.js";
import type { EventSink } from "../../logs/index.js";
import type { AppName } from "../../names.js";
import type { Store } from "../../store/index.js";
import { TaskRestartStore } from "../../store/task-restarts.js";
import { UnreadyStore } from "../../store/unready.js";
import { AppPass } from "../app-pass.js";
import { dueCheck, type ProbeState } from "../health-probe.js";
import { onOverlay } from "./overlay-reach.js";
import type { SwarmScheduler } from "./scheduler.js";
import { currentByType } from "./tasks.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

const TICK_MS = 1000;
/** How often to ask again whether this process is on the overlay. */
const REACH_MS = 30_000;

/**
 * app.json liveness and readiness checks of swarm tasks (worker role), as health-monitor.ts
 * does for containers. Each task of the app's current services is probed on its overlay
 * address (the worker is on the overlay network, as for the deploy checks). Readiness: after
 * `attempts` failures the task id is in the app's unready set and out of the route (every
 * route computation of the swarm scheduler leaves unready tasks out) until a probe passes.
 * Liveness: Swarm has no API to restart one task, and `docker service update --force` would
 * replace every task; so the task's container is killed and Swarm (restart policy any) starts
 * a new task in that slot. Only an engine of the task's node can kill it, and the probes need
 * the overlay, which a node's worker need not be on: so this monitor takes the task out of the
 * route and files a restart request under the task's node, and that node's worker acts on it
 * (swarm/node-restarts.ts). A node with no worker: the task stays out of the route.
 * What the monitor does is in the app's `paas logs` as `paas[web.2]` lines. A worker that is
 * not on the overlay (e.g. a second worker on a manager's engine, outside any container) does
 * not probe: its probes would all fail and replace healthy tasks.
 */
export class SwarmHealthMonitor extends AppPass {
  /** Per task and check: consecutive failures and when the next probe is due. */
  private readonly state = new Map<string, ProbeState>();
  private readonly unready: UnreadyStore;
  private readonly restarts: TaskRestartStore;
  /** Whether this process reaches the overlay (null: unknown), and when that was last asked. */
  private reach: { on: boolean | null; at: number } | null = null;

  constructor(
    private readonly settings: Settings,
    store: Store,
    private readonly docker: DockerParts,
    private readonly swarm: SwarmScheduler,
    log: Log,
    private readonly events?: EventSink,
  ) {
    super(store, log, TICK_MS);
    this.unready = new UnreadyStore(store.redis, store.keys);
    this.restarts = new TaskRestartStore(store.redis, store.keys);
  }

  protected async beforePass(): Promise<void> {
    if (this.reach && Date.now() - this.reach.at < REACH_MS) return;
    const on = await onOverlay(this.docker, this.settings.swarmNetwork);
    if (on === false && this.reach?.on !== false)
      this.log("this worker is not on the overlay: it leaves the tasks' checks to one that is", {
        network: this.settings.swarmNetwork,
      });
    this.reach = { on, at: Date.now() };
  }

  protected async app(app: AppName): Promise<void> {
    if (this.reach?.on === false) return;
    const record = await this.store.apps.get(app);
    const release = record?.release ? await this.store.releases.get(app, record.release) : null;
    const checks = release?.appJson?.healthchecks ?? {};
    const monitored = (type: string) => [
      ...checksOfType(checks, type, "liveness"),
      ...checksOfType(checks, type, "readiness"),
    ];
    const unready = await this.unready.list(app);
    const checked = Object.keys(checks).some((type) => monitored(type).length > 0);
    if (!checked && unready.size === 0) return;
    const services = [...currentByType(await this.swarm.appServices(app)).values()].filter(
      (s) => release && checked && !record?.checksDisabled && monitored(s.type).length > 0,
    );
    const tasks =
      services.length > 0
        ? (
            await this.docker.services.tasks({
              service: services.map((s) => s.id),
              "desired-state": ["running"],
            })
          ).filter((t) => t.state === "running")
        : [];
    const typeOf = new Map(services.map((s) => [s.id, s.type]));
    const ids = new Set(tasks.map((t) => t.id));
    const stale = [...unready].filter((id) => !ids.has(id));
    if (stale.length > 0) await this.unready.remove(app, ...stale);
    for (const key of this.state.keys()) {
      if (key.startsWith(`${app}/`) && !ids.has(key.split("/")[1])) this.state.delete(key);
    }
    const port = release?.port ?? 5000;
    await Promise.all(
      tasks.map((t) => {
        const type = typeOf.get(t.serviceId) ?? "";
        return this.task(app, t, type, monitored(type), port, unready);
      }),
    );
  }

  private async task(
    app: string,
    t: TaskInfo,
    type: string,
    checks: HealthCheck[],
    port: number,
    unready: Set<string>,
  ): Promise<void> {
    const host = t.addresses[this.settings.swarmNetwork];
    if (!host) return;
    const proc = `${type}.${t.slot}`;
    for (const check of checks) {
      const ctx = { app, process: proc, task: t.id, check: check.name, type: check.type };
      // A task's checks start when the monitor first sees it running, after initialDelay.
      const action = await dueCheck(
        this.state,
        `${app}/${t.id}/${check.type}/${check.name}`,
        Date.now() + check.initialDelay * 1000,
        check,
        {
          port: type === "web" ? port : null,
          host,
          hostHeader: `${app}.${this.settings.domain}`,
          running: true,
        },
        unready.has(t.id),
        this.log,
        ctx,
      );
      if (action === "restart") {
        await this.replace(app, t, proc, check, port, unready);
        for (const k of this.state.keys()) if (k.startsWith(`${app}/${t.id}/`)) this.state.delete(k);
        return;
      }
      if (action === "unready") await this.setReady(app, t.id, port, false, ctx);
      if (action === "ready") await this.setReady(app, t.id, port, true, ctx);
    }
  }

  /**
   * Liveness failed: out of the route at once, then a restart request for the worker of the
   * task's node (filed once per task: the other monitors and the next failures file nothing).
   */
  private async replace(
    app: string,
    t: TaskInfo,
    proc: string,
    check: HealthCheck,
    port: number,
    unready: Set<string>,
  ) {
    if (!t.containerId) return;
    const ctx = { app, process: proc, task: t.id, node: t.nodeId, check: check.name };
    const failed = `Liveness check "${check.name}" failed ${check.attempts} time(s) in a row`;
    if (!(await this.restarts.hasWorker(t.nodeId))) {
      if (unready.has(t.id)) return;
      unready.add(t.id);
      await this.unready.add(app, t.id);
      await this.swarm.refreshRoute(app, port);
      this.log("liveness check failed on a node without a worker: out of the route only", {
        level: "warn",
        ...ctx,
      });
      this.events?.emit(app, proc, `${failed}: out of the route (no worker on its node restarts it)`);
      return;
    }
    await this.unready.add(app, t.id);
    await this.swarm.refreshRoute(app, port);
    const filed = await this.restarts.request(t.nodeId, {
      app,
      process: proc,
      task: t.id,
      container: t.containerId,
      check: check.name,
      attempts: check.attempts,
      at: Date.now(),
    });
    if (filed) this.log("liveness check failed: out of the route, its node's worker restarts it", ctx);
  }

  /** In or out of the route: the unready set first, then the route from the tasks. */
  private async setReady(
    app: string,
    taskId: string,
    port: number,
    ready: boolean,
    ctx: Record<string, unknown>,
  ): Promise<void> {
    if (ready) await this.unready.remove(app, taskId);
    else await this.unready.add(app, taskId);
    await this.swarm.refreshRoute(app, port);
    this.events?.emit(
      app,
      String(ctx.process),
      ready
        ? `Readiness check "${ctx.check}" passes: back in the route`
        : `Readiness check "${ctx.check}" failing: out of the route`,
    );
    this.log(
      ready
        ? "readiness check passes again: the task is back in the route"
        : "readiness check failing: the task is out of the route",
      ctx,
    );
  }
}
