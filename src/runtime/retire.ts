import type Docker from "dockerode";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL } from "../docker/labels.js";
import { messageOf } from "../errors.js";
import type { Store } from "../store/index.js";
import type { RetiringContainer } from "../store/retiring.js";
import { containerName } from "./plan.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

/**
 * Old containers leave in two steps. A deploy (under the app's lock) takes them out of the
 * route and records each as draining with a deadline, renamed away from its slot's name so
 * the new container can take it; then the lock is free for the next push. At the deadline
 * they get SIGTERM, the stop grace, and are removed, by whichever comes first: this
 * process's timer or a reconcile pass (which also covers a platform restart in between).
 */
export class Retirer {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly stopping = new Set<string>();

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly log: Log = () => {},
  ) {}

  /**
   * Record the containers as draining and schedule their end. Web containers that run get
   * PAAS_DRAIN_SECONDS to finish requests in flight; the rest stop at once.
   */
  async drain(
    app: string,
    containers: Docker.ContainerInfo[],
    now = Date.now(),
  ): Promise<RetiringContainer[]> {
    if (containers.length === 0) return [];
    const records = containers.map((c) => {
      const type = c.Labels[LABEL.process] ?? "";
      const serving = type === "web" && c.State === "running";
      return {
        id: c.Id,
        slot: `${type}.${c.Labels[LABEL.instance] ?? 0}`,
        release: c.Labels[LABEL.release] ?? "",
        deadline: now + (serving ? this.settings.drainSeconds * 1000 : 0),
      };
    });
    await this.store.retiring.add(app, records);
    // Free the slot's name (reconcile and the next deploy create containers under it).
    await Promise.all(
      containers.map((c) => {
        const slot = { type: c.Labels[LABEL.process] ?? "", index: Number(c.Labels[LABEL.instance] ?? 0) };
        const name = containerName(this.settings.namespace, app, slot, `draining-${c.Id.slice(0, 12)}`);
        return this.docker.containers.rename(c.Id, name).catch(() => {});
      }),
    );
    this.schedule(app, Math.min(...records.map((r) => r.deadline)));
    return records;
  }

  /** Ids of the app's containers that are draining (not yet due), and stop those that are due. */
  async sweep(app: string, now = Date.now()): Promise<Set<string>> {
    const records = await this.store.retiring.list(app);
    const due = records.filter((r) => r.deadline <= now);
    const waiting = records.filter((r) => r.deadline > now);
    for (const r of due) void this.end(app, r);
    if (waiting.length > 0) this.schedule(app, Math.min(...waiting.map((r) => r.deadline)));
    return new Set(records.map((r) => r.id));
  }

  /** Stop everything pending (server shutdown); the records let the next start finish the job. */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }

  private schedule(app: string, at: number): void {
    // One timer per app, for its earliest deadline; each sweep schedules the next.
    const existing = this.timers.get(app);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(app);
        void this.sweep(app).catch((err) =>
          this.log("could not retire draining containers", { app, error: messageOf(err) }),
        );
      },
      Math.max(0, at - Date.now()) + 50,
    );
    timer.unref();
    this.timers.set(app, { at, timer });
  }

  private async end(app: string, r: RetiringContainer): Promise<void> {
    if (this.stopping.has(r.id)) return;
    this.stopping.add(r.id);
    try {
      await this.docker.containers.stop(r.id, this.settings.stopTimeout);
      await this.docker.containers.remove(r.id);
      await this.store.retiring.done(app, [r.id]);
      this.log("retired a drained container", { app, slot: r.slot, release: r.release });
    } catch (err) {
      this.log("could not retire a drained container", { app, slot: r.slot, error: messageOf(err) });
    } finally {
      this.stopping.delete(r.id);
    }
  }
}
