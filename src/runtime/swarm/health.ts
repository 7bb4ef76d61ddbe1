import { checksOfType, type HealthCheck } from "../../app-json/checks.js";
import type { Settings } from "../../config.js";
import type { DockerParts } from "../../docker/index.js";
import type { TaskInfo } from "../../docker/services.js";
import { messageOf } from "../../errors.js";
import type { AppName } from "../../names.js";
import type { Store } from "../../store/index.js";
import { UnreadyStore } from "../../store/unready.js";
import { AppPass } from "../app-pass.js";
import { afterProbe, probe } from "../health-probe.js";
import type { SwarmScheduler } from "./scheduler.js";
import { currentByType } from "./tasks.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

const TICK_MS = 1000;

/**
 * app.json liveness and readiness checks of swarm tasks (worker role), as health-monitor.ts
 * does for containers. Each task of the app's current services is probed on its overlay
 * address (the worker is on the overlay network, as for the deploy checks). Readiness: after
 * `attempts` failures the task id is in the app's unready set and out of the route (every
 * route computation of the swarm scheduler leaves unready tasks out) until a probe passes.
 * Liveness: Swarm has no API to restart one task, and `docker service update --force` would
 * replace every task; so the worker kills the task's container through its own engine and
 * Swarm (restart policy any) starts a new task in that slot. That works for tasks on the
 * worker's node; a task on another node failing liveness is taken out of the route instead
 * (and logged) until a worker runs on every node.
 */
export class SwarmHealthMonitor extends AppPass {
  private node: string | null = null;
  /** Per task and check: consecutive failures and when the next probe is due. */
  private readonly state = new Map<string, { failures: number; nextAt: number }>();
  private readonly unready: UnreadyStore;

  constructor(
    private readonly settings: Settings,
    store: Store,
    private readonly docker: DockerParts,
    private readonly swarm: SwarmScheduler,
    log: Log,
    private readonly events?: { emit(app: string, process: string, message: string): void },
  ) {
    super(store, log, TICK_MS);
    this.unready = new UnreadyStore(store.redis, store.keys);
  }

  protected async beforePass(): Promise<void> {
    this.node ??= await this.docker.services.nodeId();
  }

  protected async app(app: AppName): Promise<void> {
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
    const now = Date.now();
    for (const check of checks) {
      const key = `${app}/${t.id}/${check.type}/${check.name}`;
      // A task's checks start when the monitor first sees it running, after initialDelay.
      const st = this.state.get(key) ?? { failures: 0, nextAt: now + check.initialDelay * 1000 };
      this.state.set(key, st);
      if (now < st.nextAt) continue;
      st.nextAt = now + Math.max(1, check.wait) * 1000;
      const why = await probe(
        {
          port: type === "web" ? port : null,
          host,
          hostHeader: `${app}.${this.settings.domain}`,
          running: true,
        },
        check,
      );
      const ctx = { app, process: proc, task: t.id, check: check.name, type: check.type };
      if (why)
        this.log("health check failed", {
          level: "warn",
          ...ctx,
          why,
          failures: st.failures + 1,
          attempts: check.attempts,
        });
      const { failures, action } = afterProbe(check, st.failures, why === null, unready.has(t.id));
      st.failures = failures;
      if (action === "restart") {
        await this.replace(app, t, proc, check, port);
        for (const k of this.state.keys()) if (k.startsWith(`${app}/${t.id}/`)) this.state.delete(k);
        return;
      }
      if (action === "unready") await this.setReady(app, t.id, port, false, ctx);
      if (action === "ready") await this.setReady(app, t.id, port, true, ctx);
    }
  }

  /** Liveness failed: kill the task's container (this node) so Swarm replaces the task. */
  private async replace(app: string, t: TaskInfo, proc: string, check: HealthCheck, port: number) {
    const local = t.nodeId === this.node && t.containerId;
    if (!local) {
      this.log("liveness check failed on a task of another node: out of the route only", {
        level: "warn",
        app,
        process: proc,
        task: t.id,
        node: t.nodeId,
      });
      if (!(await this.unready.list(app)).has(t.id))
        await this.setReady(app, t.id, port, false, { process: proc, check: check.name });
      return;
    }
    try {
      await this.store.lock.withLock(
        app,
        async () => {
          this.log("liveness check failed: replacing the task", {
            app,
            process: proc,
            task: t.id,
            check: check.name,
          });
          this.events?.emit(
            app,
            proc,
            `Liveness check "${check.name}" failed ${check.attempts} time(s) in a row: replacing the task`,
          );
          await this.unready.add(app, t.id);
          await this.swarm.refreshRoute(app, port);
          await this.docker.containers.kill(t.containerId ?? "");
        },
        2_000,
      );
    } catch (err) {
      this.log("liveness replacement skipped (the app is busy); will retry", {
        app,
        process: proc,
        reason: messageOf(err),
      });
    }
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
