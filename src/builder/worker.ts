import { DelayedError, Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { Settings } from "../config.js";
import { isPaasError, messageOf } from "../errors.js";
import { logConnection } from "../store/connection-log.js";
import type { Store } from "../store/index.js";
import { type JobData, QUEUE_NAME } from "./jobs.js";

/**
 * Runs one job to its end, writing user-facing lines with emit. Returns the app URL (a
 * release went live), or an operation's result for the waiting API request.
 */
export type JobRunner = (
  job: JobData,
  emit: (line: string) => void,
  /** The release is live: tell the waiting pusher now (old containers may still be draining). */
  announce: (url: string) => void,
) => Promise<string | { result: unknown }>;

export interface WorkerHandle {
  close(): Promise<void>;
}

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

/**
 * The consumer side: a bullmq worker whose processor waits for the app's turn (builds of
 * one app run one at a time in push order; different apps run in parallel), runs the job
 * and writes every line and the outcome to the build's log stream.
 */
export function startBuildWorker(
  deps: { settings: Settings; store: Store; run: JobRunner },
  log: Log,
  opts: { lockDurationMs?: number; stalledIntervalMs?: number } = {},
): WorkerHandle {
  const { store, settings } = deps;
  const connection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  logConnection(connection, log, "build worker");
  // Read-only view of the queue, to ask about other jobs' states.
  const inspector = new Queue<JobData>(QUEUE_NAME, { connection, prefix: store.keys.bullPrefix() });
  inspector.on("error", (err) => log("queue inspector error", { level: "error", error: messageOf(err) }));
  const worker = new Worker<JobData>(
    QUEUE_NAME,
    async (job, token) => {
      const data = job.data;
      const emit = (text: string) =>
        void store.builds
          .append(data.buildId, { type: "line", text })
          .catch((err) =>
            log("build log line lost", { app: data.app, build: data.buildId, error: messageOf(err) }),
          );
      if (!(await isMyTurn(store, inspector, data.app, data.seq))) {
        // Not this build's turn: give the worker slot back (other apps' builds may use it)
        // and come back shortly.
        const rec = await store.builds.get(data.buildId);
        if (rec?.status === "queued") {
          await store.builds.update(data.buildId, { status: "waiting" });
          emit(`-----> Waiting for the previous build of ${data.app} to finish`);
        }
        await job.moveToDelayed(Date.now() + 500, token);
        throw new DelayedError();
      }
      await store.builds.update(data.buildId, { status: "running" });
      log("job started", { app: data.app, build: data.buildId, kind: data.kind });
      let announced: Promise<void> | null = null;
      let destroyed = false;
      try {
        const announce = (url: string) => {
          announced ??= (async () => {
            await store.builds.update(data.buildId, { status: "succeeded", url });
            await store.builds.append(data.buildId, { type: "end", ok: true, message: "deployed", url });
          })();
        };
        const out = await deps.run(data, emit, announce);
        if (typeof out === "string") {
          announce(out);
          await announced;
        } else {
          destroyed = data.kind === "operation" && data.operation.op === "destroy";
          await store.builds.update(data.buildId, { status: "succeeded" });
          await store.builds.append(data.buildId, {
            type: "end",
            ok: true,
            message: "done",
            result: out.result,
          });
        }
        log("job succeeded", { app: data.app, build: data.buildId });
        return typeof out === "string" ? { url: out } : { result: out.result };
      } catch (err) {
        const message = messageOf(err);
        if (announced) {
          // The pusher was told it is live, and it is: report, do not contradict.
          log("job failed after going live", {
            level: "error",
            app: data.app,
            build: data.buildId,
            error: message,
          });
          throw new UnrecoverableError(message);
        }
        for (const d of isPaasError(err) ? (err.details ?? []) : []) emit(d);
        await store.builds.update(data.buildId, { status: "failed", error: message });
        await store.builds.append(data.buildId, {
          type: "end",
          ok: false,
          message,
          ...(isPaasError(err) ? { code: err.code } : {}),
        });
        // A user's mistake (a build or release that failed) is a warning; anything else an error.
        log("job failed", {
          level: isPaasError(err) ? "warn" : "error",
          app: data.app,
          build: data.buildId,
          error: message,
        });
        // A user's mistake does not get better by retrying.
        throw new UnrecoverableError(message);
      } finally {
        // A rename moves its own record to the new name: the turn is taken there.
        const app = (await store.builds.get(data.buildId).catch(() => null))?.app ?? data.app;
        await store.builds.finishTurn(app, data.seq);
        // The app is gone: so is its job order (the API removed the rest).
        if (destroyed) await store.builds.forgetOrder(data.app, data.seq);
      }
    },
    {
      connection,
      prefix: store.keys.bullPrefix(),
      concurrency: settings.buildConcurrency,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 10_000,
      // A job whose worker died is failed, not silently retried: its pusher was told.
      maxStalledCount: 0,
    },
  );
  worker.on("error", (err) => log("queue error", { level: "error", error: messageOf(err) }));
  return {
    close: async () => {
      await worker.close();
      await inspector.close();
      connection.disconnect();
    },
  };
}

/** Whether every earlier build of the app is over (skipping ones whose worker died). */
async function isMyTurn(store: Store, queue: Queue<JobData>, app: string, seq: number): Promise<boolean> {
  for (;;) {
    const turn = await store.builds.turn(app);
    if (turn >= seq - 1) return true;
    // The build before ours may have died without finishing its turn: skip it if it is over.
    const id = await store.builds.idAtSeq(app, turn + 1);
    const rec = id ? await store.builds.get(id) : null;
    const job = id ? await queue.getJob(id) : null;
    const state = job ? await job.getState() : "unknown";
    if (
      !rec ||
      rec.status === "failed" ||
      rec.status === "succeeded" ||
      ["completed", "failed", "unknown"].includes(state)
    ) {
      await store.builds.finishTurn(app, turn + 1);
      continue;
    }
    return false;
  }
}
