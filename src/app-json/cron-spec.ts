import crypto from "node:crypto";
import { Cron } from "croner";
import { BuildFailed } from "../errors.js";

// app.json `cron` (Dokku's format), read at build time and stored on the release:
//   "cron": [{"command": "python task.py", "schedule": "@daily", "concurrency_policy": "forbid"}]
// Schedules are five-field cron expressions or @hourly/@daily/@weekly/@monthly/@yearly/
// @annually/@midnight, read by croner. A sixth, leading seconds field is a paas extension
// (Dokku says seconds are "generally not supported"); it is what lets tests run often.

export type ConcurrencyPolicy = "allow" | "forbid" | "replace";

/** Dokku's default: a new run starts even while the previous one still runs. */
export const DEFAULT_CONCURRENCY_POLICY: ConcurrencyPolicy = "allow";

export interface CronJob {
  /** Stable id from schedule and command, as `paas cron` lists it. */
  id: string;
  command: string;
  schedule: string;
  concurrencyPolicy: ConcurrencyPolicy;
  /** Dokku's `maintenance: true`: the job is listed but does not run. */
  maintenance: boolean;
}

const POLICIES = new Set<ConcurrencyPolicy>(["allow", "forbid", "replace"]);
const MACROS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);

/** The cron pattern for a schedule (throws croner's error for a bad one). */
export function cronOf(schedule: string): Cron {
  return new Cron(schedule, { paused: true, mode: "5-or-6-parts" });
}

export function cronJobId(schedule: string, command: string): string {
  return crypto.createHash("sha256").update(`${schedule}\n${command}`).digest("hex").slice(0, 10);
}

/** Why a schedule is not usable, or null when it is. */
export function scheduleProblem(schedule: string): string | null {
  const s = schedule.trim();
  if (s.startsWith("@")) {
    return MACROS.has(s.toLowerCase())
      ? null
      : `"${s}" is not a schedule paas knows; use five fields or one of ${[...MACROS].join(", ")}`;
  }
  const fields = s.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `"${s}" has ${fields} field(s); use five (minute hour day month weekday), e.g. "*/15 * * * *"`;
  }
  try {
    cronOf(s).stop();
    return null;
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern: /, "");
    return `"${s}" is not a valid cron expression (${why})`;
  }
}

/** Parse app.json's `cron` value; a bad entry fails the build with a message naming it. */
export function parseCronEntries(raw: unknown): CronJob[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new BuildFailed(
      'app.json: cron must be a list, e.g. [{"command": "python task.py", "schedule": "@daily"}]',
    );
  }
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    const where = `app.json: cron[${i}]`;
    if (!entry || typeof entry !== "object" || Array.isArray(entry))
      throw new BuildFailed(`${where} must be an object with "command" and "schedule"`);
    const e = entry as Record<string, unknown>;
    if (typeof e.command !== "string" || e.command.trim() === "")
      throw new BuildFailed(`${where}.command must be a non-empty command string`);
    if (typeof e.schedule !== "string" || e.schedule.trim() === "")
      throw new BuildFailed(`${where}.schedule must be a cron expression such as "@daily" or "0 1 * * *"`);
    const problem = scheduleProblem(e.schedule);
    if (problem) throw new BuildFailed(`${where}.schedule ${problem}`);
    const policy = e.concurrency_policy ?? DEFAULT_CONCURRENCY_POLICY;
    if (typeof policy !== "string" || !POLICIES.has(policy as ConcurrencyPolicy))
      throw new BuildFailed(`${where}.concurrency_policy must be one of allow, forbid, replace`);
    if (e.maintenance !== undefined && typeof e.maintenance !== "boolean")
      throw new BuildFailed(`${where}.maintenance must be true or false`);
    const schedule = e.schedule.trim().replace(/\s+/g, " ");
    const command = e.command.trim();
    const id = cronJobId(schedule, command);
    if (seen.has(id)) throw new BuildFailed(`${where} repeats an earlier entry (same schedule and command)`);
    seen.add(id);
    return {
      id,
      command,
      schedule,
      concurrencyPolicy: policy as ConcurrencyPolicy,
      maintenance: e.maintenance === true,
    };
  });
}

/**
 * The latest scheduled time in (after, now], or null when none fell in it. Several missed
 * times collapse into one run: a scheduler that was away runs a job once, not once per miss.
 */
export function dueTime(schedule: string, after: Date, now: Date): Date | null {
  const cron = cronOf(schedule);
  let due: Date | null = null;
  let cursor = after;
  // Bounded: a seconds schedule over a long gap is cut off at the newest times.
  for (let i = 0; i < 10_000; i++) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > now.getTime()) break;
    due = next;
    cursor = next;
  }
  return due;
}

export function nextTime(schedule: string, from: Date): Date | null {
  return cronOf(schedule).nextRun(from);
}
