import crypto from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { messageOf } from "../errors.js";
import type { BuildLogEntry } from "../store/builds.js";
import { logConnection } from "../store/connection-log.js";
import type { Store } from "../store/index.js";
import {
  type BuildJob,
  type ImageJob,
  type JobData,
  type OperationJob,
  QUEUE_NAME,
  type ReleaseJob,
  type RenameJob,
  type RollbackJob,
} from "./jobs.js";

export type NewJob =
  | Omit<BuildJob, "buildId" | "seq">
  | Omit<ReleaseJob, "buildId" | "seq">
  | Omit<RollbackJob, "buildId" | "seq">
  | Omit<OperationJob, "buildId" | "seq">
  | Omit<ImageJob, "buildId" | "seq">
  | Omit<RenameJob, "buildId" | "seq">;

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

/** Quiet follow rounds (~2 s each) with a job waiting and no worker connected before giving up. */
const NO_WORKER_CHECKS = 5;

/**
 * The producer side of the build queue: enqueue in push order (a per-app sequence number)
 * and follow a build's log until its end, noticing a worker that died on the way.
 */
export class BuildQueue {
  readonly queue: Queue<JobData>;
  private readonly connection: Redis;

  constructor(
    private readonly store: Store,
    private readonly redisUrl: string,
    private readonly log: Log = () => {},
  ) {
    // bullmq leaves connections it did not create open: this one is closed in close().
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    logConnection(this.connection, log, "queue");
    this.queue = new Queue<JobData>(QUEUE_NAME, {
      connection: this.connection,
      prefix: store.keys.bullPrefix(),
    });
    this.queue.on("error", (err) => log("queue error", { level: "error", error: messageOf(err) }));
  }

  async enqueue(job: NewJob): Promise<string> {
    const buildId = `${job.app}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`;
    const seq = await this.store.builds.nextSeq(job.app);
    await this.store.builds.save({
      id: buildId,
      app: job.app,
      seq,
      commit: job.kind === "build" ? job.commit : "",
      status: "queued",
      createdAt: new Date().toISOString(),
    });
    const data = { ...job, buildId, seq } as JobData;
    // A destroy that succeeded leaves nothing of the app behind, its own job neither.
    const destroys = job.kind === "operation" && job.operation.op === "destroy";
    await this.queue.add(job.kind, data, {
      jobId: buildId,
      attempts: 1,
      removeOnComplete: destroys ? true : { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    });
    return buildId;
  }

  /** A destroyed app's finished jobs (a job still running stays: it removes itself). */
  async forget(ids: string[]): Promise<void> {
    for (const id of ids) await this.queue.remove(id).catch(() => 0);
  }

  /**
   * Call onEntry for each log entry until the end entry. If the job fails without writing
   * an end (its worker died), synthesize one, so a pusher is never left waiting.
   */
  async follow(
    buildId: string,
    onEntry: (e: BuildLogEntry) => void,
    signal?: AbortSignal,
  ): Promise<BuildLogEntry> {
    const reader = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    logConnection(reader, this.log, `build log reader ${buildId}`);
    let last = "0";
    let quietChecks = 0;
    try {
      while (!signal?.aborted) {
        const { last: next, entries } = await this.store.builds.read(buildId, last, 2000, reader);
        last = next;
        for (const e of entries) {
          onEntry(e);
          if (e.type === "end") return e;
        }
        if (entries.length > 0) {
          quietChecks = 0;
          continue;
        }
        quietChecks++;
        const verdict = await this.workerVerdict(buildId, quietChecks);
        if (verdict) {
          await this.store.builds.append(buildId, verdict);
          await this.store.builds.update(buildId, {
            status: "failed",
            error: verdict.type === "end" ? verdict.message : "",
          });
        }
      }
      return { type: "end", ok: false, message: "stopped following the build" };
    } finally {
      reader.disconnect();
    }
  }

  /** Null while the build is healthy; an end entry when its worker is gone. */
  private async workerVerdict(buildId: string, quietChecks: number): Promise<BuildLogEntry | null> {
    const job = await this.queue.getJob(buildId);
    if (!job) return { type: "end", ok: false, message: "the build disappeared from the queue" };
    const state = await job.getState();
    if (state === "failed") {
      return {
        type: "end",
        ok: false,
        message: `build failed: ${job.failedReason || "the build worker stopped"}`,
      };
    }
    if (
      (state === "waiting" || state === "delayed" || state === "prioritized") &&
      quietChecks >= NO_WORKER_CHECKS
    ) {
      // Nothing takes jobs (no process runs the worker role): say so rather than wait forever,
      // and take the job back so that a worker started later does not run what was refused.
      if ((await this.queue.getWorkersCount()) === 0) {
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        if (removed) {
          return {
            type: "end",
            ok: false,
            code: "unavailable",
            message: "no worker is running to do this: start `paas server` with the worker role (PAAS_ROLES)",
          };
        }
      }
    }
    if (state === "active" && quietChecks >= 3) {
      // bullmq keeps a lock key alive while a worker holds the job.
      const lockKey = `${this.store.keys.bullPrefix()}:${QUEUE_NAME}:${buildId}:lock`;
      if ((await this.store.redis.exists(lockKey)) === 0) {
        return { type: "end", ok: false, message: "the build worker died during the build; push again" };
      }
    }
    return null;
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}
