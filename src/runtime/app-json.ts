import { BuildFailed } from "../errors.js";
import { type CronJob, parseCronEntries } from "./cron-spec.js";

// The parts of app.json the platform acts on (Dokku-compatible): health checks per process
// type, and predeploy/postdeploy scripts. Parsed once at build time, stored on the release.

export interface HealthCheck {
  type: "startup";
  name: string;
  /** HTTP path to GET; absent: a TCP/uptime check only. */
  path?: string;
  /** Text the response body must contain. */
  content?: string;
  attempts: number;
  /** Seconds per attempt. */
  timeout: number;
  /** Seconds between attempts. */
  wait: number;
  /** Seconds before the first attempt. */
  initialDelay: number;
  /** Seconds the container must stay up. */
  uptime?: number;
}

export interface AppJson {
  healthchecks: Record<string, HealthCheck[]>;
  scripts: { predeploy?: string; postdeploy?: string };
  /** Scheduled jobs (Dokku's `cron`), parsed in cron-spec.ts. */
  cron?: CronJob[];
}

export const EMPTY_APP_JSON: AppJson = { healthchecks: {}, scripts: {} };

const num = (v: unknown, field: string, fallback: number, where: string): number => {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new BuildFailed(`app.json: ${where}.${field} must be a number of 0 or more`);
  }
  return v;
};

export function parseAppJson(text: string): AppJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BuildFailed(`app.json is not valid JSON (${(err as Error).message}); fix it and push again`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new BuildFailed("app.json must hold a JSON object");
  const obj = raw as { healthchecks?: unknown; scripts?: unknown };
  const out: AppJson = { healthchecks: {}, scripts: {} };

  if (obj.scripts !== undefined) {
    if (!obj.scripts || typeof obj.scripts !== "object")
      throw new BuildFailed("app.json: scripts must be an object");
    const s = obj.scripts as Record<string, unknown>;
    for (const k of ["predeploy", "postdeploy"] as const) {
      if (s[k] === undefined) continue;
      if (typeof s[k] !== "string") throw new BuildFailed(`app.json: scripts.${k} must be a command string`);
      out.scripts[k] = s[k] as string;
    }
  }

  if (obj.healthchecks !== undefined) {
    if (!obj.healthchecks || typeof obj.healthchecks !== "object" || Array.isArray(obj.healthchecks)) {
      throw new BuildFailed(
        'app.json: healthchecks must map process types to lists, e.g. {"web": [{"path": "/"}]}',
      );
    }
    for (const [type, list] of Object.entries(obj.healthchecks as Record<string, unknown>)) {
      if (!Array.isArray(list))
        throw new BuildFailed(`app.json: healthchecks.${type} must be a list of checks`);
      out.healthchecks[type] = list.map((c, i) => {
        const where = `healthchecks.${type}[${i}]`;
        if (!c || typeof c !== "object") throw new BuildFailed(`app.json: ${where} must be an object`);
        const check = c as Record<string, unknown>;
        if (check.type !== undefined && check.type !== "startup") {
          throw new BuildFailed(
            `app.json: ${where}.type "${String(check.type)}" is not supported (only "startup")`,
          );
        }
        if (check.path !== undefined && (typeof check.path !== "string" || !check.path.startsWith("/"))) {
          throw new BuildFailed(`app.json: ${where}.path must start with "/"`);
        }
        if (check.content !== undefined && typeof check.content !== "string") {
          throw new BuildFailed(`app.json: ${where}.content must be a string`);
        }
        return {
          type: "startup",
          name: typeof check.name === "string" ? check.name : `${type} check ${i + 1}`,
          path: check.path as string | undefined,
          content: check.content as string | undefined,
          attempts: Math.max(1, Math.floor(num(check.attempts, "attempts", 5, where))),
          timeout: num(check.timeout, "timeout", 5, where),
          wait: num(check.wait, "wait", 2, where),
          initialDelay: num(check.initialDelay, "initialDelay", 0, where),
          uptime: check.uptime === undefined ? undefined : num(check.uptime, "uptime", 0, where),
        } satisfies HealthCheck;
      });
    }
  }
  const cron = parseCronEntries((raw as { cron?: unknown }).cron);
  if (cron.length > 0) out.cron = cron;
  return out;
}
