import { BuildFailed } from "../errors.js";

// app.json `healthchecks` (Dokku's format): per process type, a list of checks, each of one
// `type`: startup (gates a deploy: the new container must pass before it gets traffic),
// liveness (a running container that fails is restarted) or readiness (a running container
// that fails is taken out of the route until it passes again). Default: startup.

export type HealthCheckType = "startup" | "liveness" | "readiness";

export const HEALTHCHECK_TYPES: readonly HealthCheckType[] = ["startup", "liveness", "readiness"];

export interface HealthCheck {
  type: HealthCheckType;
  name: string;
  /** HTTP path to GET; absent: a TCP (web) or running (other types) check only. */
  path?: string;
  /** Text the response body must contain. */
  content?: string;
  attempts: number;
  /** Seconds per attempt. */
  timeout: number;
  /** Seconds between attempts. */
  wait: number;
  /** Seconds before the first attempt (after the container started). */
  initialDelay: number;
  /** Seconds the container must stay up (startup checks). */
  uptime?: number;
}

const num = (v: unknown, field: string, fallback: number, where: string): number => {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new BuildFailed(`app.json: ${where}.${field} must be a number of 0 or more`);
  }
  return v;
};

/** The check's type; a missing type is "startup" (what Dokku assumes). */
export function parseCheckType(raw: unknown, where: string): HealthCheckType {
  if (raw === undefined || raw === null) return "startup";
  if (typeof raw === "string" && (HEALTHCHECK_TYPES as readonly string[]).includes(raw.toLowerCase())) {
    return raw.toLowerCase() as HealthCheckType;
  }
  throw new BuildFailed(
    `app.json: ${where}.type "${String(raw)}" is not a check type: use startup, liveness or readiness`,
  );
}

export function parseHealthchecks(raw: unknown): Record<string, HealthCheck[]> {
  const out: Record<string, HealthCheck[]> = {};
  if (raw === undefined) return out;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new BuildFailed(
      'app.json: healthchecks must map process types to lists, e.g. {"web": [{"path": "/"}]}',
    );
  }
  for (const [type, list] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(list))
      throw new BuildFailed(`app.json: healthchecks.${type} must be a list of checks`);
    out[type] = list.map((c, i) => {
      const where = `healthchecks.${type}[${i}]`;
      if (!c || typeof c !== "object") throw new BuildFailed(`app.json: ${where} must be an object`);
      const check = c as Record<string, unknown>;
      const kind = parseCheckType(check.type, where);
      if (check.path !== undefined && (typeof check.path !== "string" || !check.path.startsWith("/"))) {
        throw new BuildFailed(`app.json: ${where}.path must start with "/"`);
      }
      if (check.content !== undefined && typeof check.content !== "string") {
        throw new BuildFailed(`app.json: ${where}.content must be a string`);
      }
      return {
        type: kind,
        name: typeof check.name === "string" ? check.name : `${type} ${kind} check ${i + 1}`,
        path: check.path as string | undefined,
        content: check.content as string | undefined,
        attempts: Math.max(1, Math.floor(num(check.attempts, "attempts", 5, where))),
        timeout: num(check.timeout, "timeout", 5, where),
        wait: num(check.wait, "wait", kind === "startup" ? 2 : 5, where),
        initialDelay: num(check.initialDelay, "initialDelay", 0, where),
        uptime: check.uptime === undefined ? undefined : num(check.uptime, "uptime", 0, where),
      } satisfies HealthCheck;
    });
  }
  return out;
}

/** The checks of one type for a process type (old releases stored no type: startup). */
export function checksOfType(
  healthchecks: Record<string, HealthCheck[]>,
  processType: string,
  type: HealthCheckType,
): HealthCheck[] {
  return (healthchecks[processType] ?? []).filter((c) => (c.type ?? "startup") === type);
}
