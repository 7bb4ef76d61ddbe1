import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** What a scheduled job's last run came to, as `paas cron` shows it. */
export interface CronRunResult {
  /** The scheduled time this run was for. */
  scheduledAt: string;
  startedAt: string;
  finishedAt: string | null;
  /** null while running, or when it was skipped or could not start. */
  exitCode: number | null;
  durationMs: number | null;
  dyno: string | null;
  /** "running", "succeeded", "failed", "skipped" (forbid: the previous run still ran), "error". */
  outcome: "running" | "succeeded" | "failed" | "skipped" | "error";
  /** Why it was skipped or could not start. */
  message?: string;
}

/** One-off process numbers (run.N) and scheduled-job claims and results. */
export class RunsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** The next one-off number of an app: run.1, run.2, ... (shared with scheduler.N). */
  async nextNumber(app: string): Promise<number> {
    return this.redis.incr(this.keys.runSeq(app));
  }

  /**
   * Claim one scheduled time of one job: true for exactly one caller, across worker
   * processes and restarts (until the claim expires, long after the time has passed).
   */
  async claim(app: string, jobId: string, at: Date, ttlSeconds: number): Promise<boolean> {
    const key = this.keys.cronClaim(app, jobId, Math.floor(at.getTime() / 1000));
    return (await this.redis.set(key, "1", "EX", ttlSeconds, "NX")) === "OK";
  }

  /** An attached one-off's client is still there (renewed while its session lives). */
  async touchSession(containerId: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.runSession(containerId), "1", "EX", ttlSeconds);
  }

  async sessionAlive(containerId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.runSession(containerId))) === 1;
  }

  async endSession(containerId: string): Promise<void> {
    await this.redis.del(this.keys.runSession(containerId));
  }

  async recordResult(app: string, jobId: string, result: CronRunResult): Promise<void> {
    await this.redis.hset(this.keys.cronLast(app), jobId, JSON.stringify(result));
  }

  async lastResults(app: string): Promise<Record<string, CronRunResult>> {
    const all = await this.redis.hgetall(this.keys.cronLast(app));
    const out: Record<string, CronRunResult> = {};
    for (const [id, raw] of Object.entries(all)) out[id] = JSON.parse(raw) as CronRunResult;
    return out;
  }
}
