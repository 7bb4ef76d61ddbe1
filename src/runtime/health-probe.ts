import type { HealthCheck } from "../app-json/checks.js";
import { httpGet } from "./checks.js";
import { probePort } from "./readiness.js";

// One probe of a running container for a liveness or readiness check, and the pure rule for
// what a run of results means. The monitor (health-monitor.ts) schedules and acts.

export interface ProbeTarget {
  /** Published loopback port of the web process, or null (other process types). */
  port: number | null;
  /** Where to probe: loopback (a published port) unless given (a swarm task's overlay address). */
  host?: string;
  hostHeader: string;
  running: boolean;
}

/** null: passed; otherwise why it failed. */
export async function probe(t: ProbeTarget, check: HealthCheck): Promise<string | null> {
  if (!t.running) return "not running";
  if (t.port === null) return null;
  const host = t.host ?? "127.0.0.1";
  if (!check.path) return (await probePort(host, t.port, 200)) ? null : "not accepting connections";
  const res = await httpGet(host, t.port, check.path, t.hostHeader, check.timeout * 1000);
  if (res.error) return `GET ${check.path} -> ${res.error}`;
  if (res.status < 200 || res.status >= 400) return `GET ${check.path} -> status ${res.status}`;
  if (check.content !== undefined && !res.body.includes(check.content))
    return `GET ${check.path} -> the body does not contain ${JSON.stringify(check.content)}`;
  return null;
}

export type HealthAction = "none" | "restart" | "unready" | "ready";

/**
 * After one probe: the new count of consecutive failures and what to do. A check fails once
 * `attempts` probes in a row failed: liveness restarts the container, readiness takes it out
 * of the route; a passing readiness probe puts an unready container back.
 */
export function afterProbe(
  check: Pick<HealthCheck, "type" | "attempts">,
  failuresBefore: number,
  passed: boolean,
  unready: boolean,
): { failures: number; action: HealthAction } {
  if (passed) return { failures: 0, action: check.type === "readiness" && unready ? "ready" : "none" };
  const failures = failuresBefore + 1;
  if (failures < check.attempts) return { failures, action: "none" };
  if (check.type === "liveness") return { failures: 0, action: "restart" };
  if (check.type === "readiness") return { failures, action: unready ? "none" : "unready" };
  return { failures, action: "none" };
}

/** Where one check of one container or task stands between probes. */
export interface ProbeState {
  failures: number;
  nextAt: number;
}

/**
 * One check of one container or task, if it is due (its state under `key`, first due at
 * `firstAt`): probe it, log a failure with `ctx`, and say what to do. null: not due yet.
 * Both health monitors (one engine, swarm tasks) run their checks through this.
 */
export async function dueCheck(
  states: Map<string, ProbeState>,
  key: string,
  firstAt: number,
  check: HealthCheck,
  target: ProbeTarget,
  unready: boolean,
  log: (msg: string, ctx?: Record<string, unknown>) => void,
  ctx: Record<string, unknown>,
): Promise<HealthAction | null> {
  const st = states.get(key) ?? { failures: 0, nextAt: firstAt };
  states.set(key, st);
  const now = Date.now();
  if (now < st.nextAt) return null;
  st.nextAt = now + Math.max(1, check.wait) * 1000;
  const why = await probe(target, check);
  if (why)
    log("health check failed", {
      level: "warn",
      ...ctx,
      why,
      failures: st.failures + 1,
      attempts: check.attempts,
    });
  const { failures, action } = afterProbe(check, st.failures, why === null, unready);
  st.failures = failures;
  return action;
}
