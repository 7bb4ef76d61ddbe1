import crypto from "node:crypto";
import type { DockerParts } from "../../docker/index.js";
import { messageOf } from "../../errors.js";
import type { EventSink } from "../../logs/index.js";
import type { Store } from "../../store/index.js";
import type { Lease } from "../../store/lease.js";
import { REQUEST_TTL_MS, type TaskRestart, TaskRestartStore } from "../../store/task-restarts.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

const TICK_MS = 1000;
/** The node's lease: renewed every tick, lapses (another worker of the node takes over) after this. */
const LEASE_MS = 10_000;
/** Docker's label naming the swarm task a container runs. */
const TASK_LABEL = "com.docker.swarm.task.id";

/**
 * Every worker in swarm mode, on whatever node: restarts its own node's tasks that failed
 * liveness. The probing worker (swarm/health.ts, on the overlay) files a request under the
 * task's node; the worker holding that node's lease claims it (once) and kills the task's
 * container through its own engine, and Swarm (restart policy any) starts a new task in that
 * slot. Under the app's lock, as on one engine, so it never cuts into a deploy; a request
 * nobody acts on within a minute is dropped (the task stays out of the route).
 */
export class NodeRestarter {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private node: string | null = null;
  private lease: Lease | null = null;
  private held = false;
  private readonly holder = crypto.randomUUID();
  private readonly restarts: TaskRestartStore;

  constructor(
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly log: Log,
    /** The app's own log (paas logs): the restart as a `paas[web.2]` line. */
    private readonly events?: EventSink,
  ) {
    this.restarts = new TaskRestartStore(store.redis, store.keys);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Handed over at once: another worker of this node takes the lease on its next tick.
    if (this.held) await this.lease?.release().catch(() => {});
    this.held = false;
  }

  async tick(): Promise<void> {
    if (this.running || !this.timer) return;
    this.running = true;
    try {
      this.node ||= await this.docker.services.nodeId();
      if (!this.node) return; // not (yet) in a swarm
      this.lease ??= this.restarts.lease(this.node, this.holder);
      const held = await this.lease.take(LEASE_MS);
      if (held !== this.held)
        this.log(
          held
            ? "restarting this node's tasks that fail liveness"
            : "another worker restarts this node's tasks now",
          { node: this.node },
        );
      this.held = held;
      if (!held) return;
      for (const r of await this.restarts.pending(this.node)) await this.act(this.node, r);
    } catch (err) {
      this.log("liveness restarts pass failed", { level: "warn", error: messageOf(err) });
    } finally {
      this.running = false;
    }
  }

  private async act(node: string, r: TaskRestart): Promise<void> {
    const ctx = { app: r.app, process: r.process, task: r.task, check: r.check };
    if (Date.now() - r.at > REQUEST_TTL_MS) {
      if (await this.restarts.claim(node, r.task))
        this.log("liveness restart not done in time: dropped (the task stays out of the route)", {
          level: "warn",
          ...ctx,
        });
      return;
    }
    try {
      await this.store.lock.withLock(
        r.app,
        async () => {
          if (!(await this.restarts.claim(node, r.task))) return;
          const info = await this.docker.containers.inspect(r.container);
          if (!info?.State.Running || info.Config.Labels?.[TASK_LABEL] !== r.task) {
            this.log("liveness restart: the task's container has gone already", ctx);
            return;
          }
          this.log("liveness check failed: restarting the task", { ...ctx, attempts: r.attempts });
          this.events?.emit(
            r.app,
            r.process,
            `Liveness check "${r.check}" failed ${r.attempts} time(s) in a row: restarting`,
          );
          await this.docker.containers
            .kill(r.container)
            .catch((err) =>
              this.log("liveness restart failed", { level: "warn", ...ctx, error: messageOf(err) }),
            );
        },
        2_000,
      );
    } catch (err) {
      // Unclaimed: the next tick tries again, until the request goes stale.
      this.log("liveness restart waits (the app is busy)", { ...ctx, reason: messageOf(err) });
    }
  }
}
