import type { Settings } from "../../config.js";
import { messageOf } from "../../errors.js";
import type { LogFn } from "../../log.js";
import type { AppName } from "../../names.js";
import type { Store } from "../../store/index.js";
import type { SwarmScheduler } from "./scheduler.js";
import { currentByType } from "./tasks.js";

/** How often the route follows the tasks (a task rescheduled on another node has a new address). */
const ROUTE_EVERY_MS = 2_000;

/**
 * Swarm keeps the replicas of each service; what is left to us: the formation and the
 * services agree (a missing service comes back, replicas follow the formation, services
 * of a type scaled to 0 or of a deleted app go), and the route follows the tasks.
 */
export class SwarmReconciler {
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private running = false;

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly swarm: SwarmScheduler,
    private readonly log: LogFn,
  ) {}

  start(): void {
    this.timers.push(setInterval(() => void this.routes(), ROUTE_EVERY_MS));
    this.timers.push(setInterval(() => void this.all(), this.settings.reconcileInterval * 1000));
    void this.all();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }

  /** Route refresh only: cheap, and skipped while a deploy or scale holds the app's lock. */
  async routes(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      for (const app of await this.store.apps.list()) {
        const record = await this.store.apps.get(app);
        const release = record?.release ? await this.store.releases.get(app, record.release) : null;
        if (!release) continue;
        await this.store.lock
          .withLock(app, () => this.swarm.refreshRoute(app, release.port), 200)
          .catch(() => {});
      }
    } catch (err) {
      this.log("route refresh failed", { error: messageOf(err) });
    } finally {
      this.running = false;
    }
  }

  async all(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const app of await this.store.apps.list()) {
        await this.store.lock
          .withLock(app, () => this.app(app), 2_000)
          .catch((err) => {
            this.log("reconcile skipped", { app, reason: messageOf(err) });
          });
      }
      await this.swarm.reconcilePlugins(this.log);
    } catch (err) {
      this.log("reconcile failed", { level: "error", error: messageOf(err) });
    }
  }

  /** Make one app's services match its formation; returns what changed. */
  async app(app: AppName): Promise<string[]> {
    const record = await this.store.apps.get(app);
    const release = record?.release ? await this.store.releases.get(app, record.release) : null;
    if (!release?.image) return [];
    const formation = await this.store.formation.get(app);
    const services = await this.swarm.appServices(app);
    const current = currentByType(services);
    const changed: string[] = [];
    for (const [type, n] of Object.entries(formation)) {
      const svc = current.get(type);
      if (n > 0 && !svc) {
        const generation = `v${release.version}-r${Date.now().toString(36)}`;
        await this.swarm.createService(app, release, type, n, generation);
        changed.push(`created ${type} x${n}`);
      }
    }
    // Old generations left by a deploy that died, and types scaled to 0.
    const stale = services.filter((s) => current.get(s.type)?.id !== s.id || (formation[s.type] ?? 0) === 0);
    for (const s of stale) {
      const old = Date.now() - Date.parse(s.createdAt) > (this.settings.drainSeconds + 60) * 1000;
      if ((formation[s.type] ?? 0) === 0 || old) {
        await this.swarm.removeService(s.id);
        changed.push(`removed ${s.name}`);
      }
    }
    if (changed.length > 0) this.log("reconciled", { app, changed });
    return changed;
  }
}
