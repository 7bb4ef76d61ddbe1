import type Docker from "dockerode";
import { checksOfType, type HealthCheck } from "../app-json/checks.js";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedFilter } from "../docker/labels.js";
import { messageOf } from "../errors.js";
import type { AppName } from "../names.js";
import type { Store } from "../store/index.js";
import { releaseTag } from "../store/releases.js";
import { UnreadyStore } from "../store/unready.js";
import { AppPass } from "./app-pass.js";
import { dueCheck, type ProbeState } from "./health-probe.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

const TICK_MS = 1000;

/**
 * app.json liveness and readiness checks of running containers (worker role). Every second
 * it looks at each app's containers of the current release that have such checks and probes
 * those that are due (every `wait` seconds, from `initialDelay` after the container started,
 * `timeout` per probe). After `attempts` failures in a row: liveness restarts the container
 * (under the app's lock, skipped while a deploy holds it); readiness takes it out of the
 * route and records it as unready, so no route computation puts it back, until a probe passes.
 */
export class HealthMonitor extends AppPass {
  private readonly state = new Map<string, ProbeState>();
  private readonly unready: UnreadyStore;

  constructor(
    private readonly settings: Settings,
    store: Store,
    private readonly docker: DockerParts,
    log: Log,
    /** The app's own log (paas logs): what the monitor did, as Heroku-style platform events. */
    private readonly events?: { emit(app: string, process: string, message: string): void },
  ) {
    super(store, log, TICK_MS);
    this.unready = new UnreadyStore(store.redis, store.keys);
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
    // An old container draining after a restart of the same release is not checked: it is
    // out of the route for good and goes at its deadline (runtime/retire.ts).
    const draining = new Set((await this.store.retiring.list(app)).map((r) => r.id));
    // Only apps with liveness or readiness checks cost a look at Docker.
    const checked = Object.keys(checks).some((type) => monitored(type).length > 0);
    if (!checked && unready.size === 0) return;
    const containers =
      release && checked && !record?.checksDisabled
        ? (
            await this.docker.containers.list(
              ownedFilter(this.settings.namespace, app, [
                `${LABEL.kind}=app`,
                `${LABEL.release}=${releaseTag(release.version)}`,
              ]),
            )
          ).filter((c) => monitored(c.Labels[LABEL.process] ?? "").length > 0 && !draining.has(c.Id))
        : [];
    // Forget containers that are gone or no longer checked.
    const ids = new Set(containers.map((c) => c.Id));
    const stale = [...unready].filter((id) => !ids.has(id));
    if (stale.length > 0) await this.unready.remove(app, ...stale);
    for (const key of this.state.keys()) {
      if (key.startsWith(`${app}/`) && !ids.has(key.split("/")[1])) this.state.delete(key);
    }
    await Promise.all(
      containers.map((c) =>
        this.container(app, c, monitored(c.Labels[LABEL.process] ?? ""), release?.port ?? 5000, unready),
      ),
    );
  }

  private async container(
    app: AppName,
    c: Docker.ContainerInfo,
    checks: HealthCheck[],
    port: number,
    unready: Set<string>,
  ): Promise<void> {
    const info = await this.docker.containers.inspect(c.Id);
    if (!info?.State.Running || info.State.Restarting) return;
    const started = Date.parse(info.State.StartedAt);
    const proc = `${c.Labels[LABEL.process]}.${c.Labels[LABEL.instance]}`;
    const binding = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0];
    const hostPort = binding ? Number(binding.HostPort) : null;
    for (const check of checks) {
      // Keyed by start time too: a restarted container starts its checks afresh.
      const ctx = { app, process: proc, check: check.name, type: check.type };
      const action = await dueCheck(
        this.state,
        `${app}/${c.Id}/${started}/${check.type}/${check.name}`,
        started + check.initialDelay * 1000,
        check,
        { port: hostPort, hostHeader: `${app}.${this.settings.domain}`, running: true },
        unready.has(c.Id),
        this.log,
        ctx,
      );
      if (action === "restart") {
        await this.restart(app, c.Id, proc, check);
        for (const k of this.state.keys()) if (k.startsWith(`${app}/${c.Id}/`)) this.state.delete(k);
        return;
      }
      if (action === "unready") await this.setReady(app, c.Id, hostPort, false, ctx);
      if (action === "ready") await this.setReady(app, c.Id, hostPort, true, ctx);
    }
  }

  private async restart(app: AppName, id: string, proc: string, check: HealthCheck): Promise<void> {
    try {
      await this.store.lock.withLock(
        app,
        async () => {
          this.log("liveness check failed: restarting the container", {
            app,
            process: proc,
            check: check.name,
            attempts: check.attempts,
          });
          this.events?.emit(
            app,
            proc,
            `Liveness check "${check.name}" failed ${check.attempts} time(s) in a row: restarting`,
          );
          await this.docker.containers.restart(id, this.settings.stopTimeout);
        },
        2_000,
      );
    } catch (err) {
      this.log("liveness restart skipped (the app is busy); will retry", {
        app,
        process: proc,
        reason: messageOf(err),
      });
    }
  }

  /** In or out of the route: the unready set first, so a concurrent route sync agrees. */
  private async setReady(
    app: AppName,
    id: string,
    hostPort: number | null,
    ready: boolean,
    ctx: Record<string, unknown>,
  ): Promise<void> {
    if (ready) await this.unready.remove(app, id);
    else await this.unready.add(app, id);
    const route = await this.store.routes.get(app);
    if (route && hostPort !== null) {
      const others = route.backends.filter((b) => b.port !== hostPort);
      const name = (await this.docker.containers.inspect(id))?.Name.replace(/^\//, "");
      await this.store.routes.setBackends(
        app,
        ready ? [...others, { host: "127.0.0.1", port: hostPort, id: name }] : others,
      );
    }
    this.events?.emit(
      app,
      String(ctx.process),
      ready
        ? `Readiness check "${ctx.check}" passes: back in the route`
        : `Readiness check "${ctx.check}" failing: out of the route`,
    );
    this.log(
      ready
        ? "readiness check passes again: the container is back in the route"
        : "readiness check failing: the container is out of the route",
      ctx,
    );
  }
}
