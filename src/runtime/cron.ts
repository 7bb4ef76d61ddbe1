import { type CronJob, dueTime, nextTime } from "../app-json/cron-spec.js";
import { LABEL } from "../docker/labels.js";
import { messageOf } from "../errors.js";
import type { AppName } from "../names.js";
import type { Store } from "../store/index.js";
import type { CronRunResult } from "../store/runs.js";
import type { OneOffs } from "./oneoff.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

export interface CronListing extends CronJob {
  nextRun: string | null;
  lastRun: CronRunResult | null;
}

/** An app's scheduled jobs (from its current release) with their next run and last result. */
export async function cronListing(store: Store, app: AppName, now: Date): Promise<CronListing[]> {
  const record = await store.apps.require(app);
  const release = record.release ? await store.releases.get(app, record.release) : null;
  const jobs = release?.appJson?.cron ?? [];
  const last = await store.runs.lastResults(app);
  return jobs.map((job) => ({
    ...job,
    nextRun: job.maintenance ? null : (nextTime(job.schedule, now)?.toISOString() ?? null),
    lastRun: last[job.id] ?? null,
  }));
}

export interface CronSchedulerOptions {
  now?: () => Date;
  tickMs?: number;
  /** How often the job table is re-read from the apps' current releases. */
  refreshMs?: number;
  /** On start, a run due this recently (and not claimed by anyone) still runs, once. */
  catchUpMs?: number;
  reapMs?: number;
}

interface Entry {
  app: AppName;
  job: CronJob;
}

/**
 * Runs app.json cron jobs in one-off containers of each app's current release (worker role).
 * Every (job, scheduled time) is claimed in Redis with SET NX before it runs, so several
 * workers, or a restarted one, run each time once. Missed times collapse into one run, and
 * only within catchUpMs of a start: a platform that was down for an hour does not replay it.
 */
export class CronScheduler {
  private readonly now: () => Date;
  private readonly opts: Required<Omit<CronSchedulerOptions, "now">>;
  private table = new Map<string, Entry>();
  private considered = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private refreshed = false;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly oneOffs: OneOffs,
    private readonly log: Log,
    opts: CronSchedulerOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.opts = {
      tickMs: opts.tickMs ?? 1000,
      refreshMs: opts.refreshMs ?? 5000,
      catchUpMs: opts.catchUpMs ?? 60_000,
      reapMs: opts.reapMs ?? 30_000,
    };
  }

  start(): void {
    const guard = (what: string, fn: () => Promise<unknown>) => () =>
      void fn().catch((err) => this.log(`cron ${what} failed`, { error: messageOf(err) }));
    void guard("refresh", () => this.refresh())();
    this.timers.push(
      setInterval(
        guard("refresh", () => this.refresh()),
        this.opts.refreshMs,
      ),
      setInterval(
        guard("tick", () => this.tick()),
        this.opts.tickMs,
      ),
      setInterval(
        guard("reap", () => this.oneOffs.reap()),
        this.opts.reapMs,
      ),
    );
  }

  /** Stop scheduling; runs in flight keep their containers (the reaper removes them later). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Re-read every app's jobs from its current release. */
  async refresh(): Promise<void> {
    const now = this.now().getTime();
    const table = new Map<string, Entry>();
    for (const app of await this.store.apps.list()) {
      const record = await this.store.apps.get(app);
      const release = record?.release ? await this.store.releases.get(app, record.release) : null;
      for (const job of release?.appJson?.cron ?? []) table.set(`${app}\n${job.id}`, { app, job });
    }
    for (const key of table.keys()) {
      // A job seen for the first time starts from now, except right after this process
      // started, when a time missed during the restart may still run (once, by claim).
      if (!this.considered.has(key))
        this.considered.set(key, this.refreshed ? now : now - this.opts.catchUpMs);
    }
    for (const key of this.considered.keys()) if (!table.has(key)) this.considered.delete(key);
    this.table = table;
    this.refreshed = true;
  }

  /** Fire every job whose scheduled time passed since the last tick. */
  async tick(): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.table) {
      const after = this.considered.get(key) ?? now.getTime();
      this.considered.set(key, now.getTime());
      if (entry.job.maintenance) continue;
      const due = dueTime(entry.job.schedule, new Date(after), now);
      if (!due) continue;
      const p = this.fire(entry, due).catch((err) =>
        this.log("cron run failed", {
          level: "warn",
          app: entry.app,
          job: entry.job.id,
          error: messageOf(err),
        }),
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** Claim (job, time), apply the concurrency policy, run it and record the result. */
  async fire({ app, job }: Entry, due: Date): Promise<void> {
    if (!(await this.store.runs.claim(app, job.id, due, 3600))) {
      // Another worker ran it. Said only for a late look (a restart's catch-up), not every tick.
      if (this.now().getTime() - due.getTime() > 2000)
        this.log("cron run already claimed: not running it twice", {
          app,
          job: job.id,
          scheduled: due.toISOString(),
        });
      return;
    }
    const started = this.now();
    const base = { scheduledAt: due.toISOString(), startedAt: started.toISOString() };
    const running = await this.oneOffs.running(app, job.id);
    if (running.length > 0 && job.concurrencyPolicy === "forbid") {
      const c = running[0];
      const dyno = `${c.Labels[LABEL.process]}.${c.Labels[LABEL.instance]}`;
      this.log("cron run skipped: the previous run still runs", { app, job: job.id });
      await this.store.runs.recordResult(app, job.id, {
        ...base,
        finishedAt: base.startedAt,
        exitCode: null,
        durationMs: 0,
        dyno: null,
        outcome: "skipped",
        message: `the previous run (${dyno}) was still running (concurrency_policy forbid)`,
      });
      return;
    }
    if (running.length > 0 && job.concurrencyPolicy === "replace") {
      await Promise.all(running.map((c) => this.oneOffs.stop({ id: c.Id })));
    }
    let o: Awaited<ReturnType<OneOffs["create"]>>;
    try {
      o = await this.oneOffs.create(app, {
        command: job.command,
        mode: "cron",
        process: "scheduler",
        cronJob: job.id,
        scheduledAt: base.scheduledAt,
      });
      await this.oneOffs.start(o);
    } catch (err) {
      await this.store.runs.recordResult(app, job.id, {
        ...base,
        finishedAt: this.now().toISOString(),
        exitCode: null,
        durationMs: null,
        dyno: null,
        outcome: "error",
        message: messageOf(err),
      });
      throw err;
    }
    this.log("cron run started", { app, job: job.id, dyno: o.dyno, scheduled: base.scheduledAt });
    await this.store.runs.recordResult(app, job.id, {
      ...base,
      finishedAt: null,
      exitCode: null,
      durationMs: null,
      dyno: o.dyno,
      outcome: "running",
    });
    const code = await this.oneOffs.wait(o);
    const finished = this.now();
    const durationMs = finished.getTime() - started.getTime();
    // A newer run (replace, allow) may have recorded itself meanwhile: the newest run wins
    // (a skip is not a run: this result replaces it).
    const current = (await this.store.runs.lastResults(app))[job.id];
    if (current?.dyno && current.dyno !== o.dyno && current.scheduledAt > base.scheduledAt) return;
    await this.store.runs.recordResult(app, job.id, {
      ...base,
      finishedAt: finished.toISOString(),
      exitCode: code,
      durationMs,
      dyno: o.dyno,
      outcome: code === 0 ? "succeeded" : "failed",
    });
    this.log("cron run finished", { app, job: job.id, dyno: o.dyno, exitCode: code, durationMs });
  }
}
