import http from "node:http";
import type { HealthCheck } from "../app-json/app-json.js";
import { checksOfType } from "../app-json/checks.js";
import { waitForPort } from "./readiness.js";

// Readiness checks as strategies: port (accepts connections), uptime (stays up), and HTTP
// (path answers 2xx/3xx, optionally containing some text). Clock and sleep are injectable.

export interface CheckTarget {
  /** e.g. web.1 */
  name: string;
  port: number | null;
  /** Address to check (default 127.0.0.1: the published port; swarm: the task's overlay address). */
  host?: string;
  hostHeader: string;
  /** Running and not restarted since start. */
  isAlive: () => Promise<boolean>;
}

export interface CheckClock {
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export const realClock: CheckClock = {
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => Date.now(),
};

export interface CheckPlan {
  /** Wait for the port (web). */
  port: boolean;
  startTimeoutMs: number;
  /** Milliseconds the container must stay up after it is ready. */
  uptimeMs: number;
  http: HealthCheck[];
}

export type CheckOutcome = { ok: true } | { ok: false; output: string[] };

export async function runChecks(
  t: CheckTarget,
  plan: CheckPlan,
  clock: CheckClock = realClock,
): Promise<CheckOutcome> {
  if (plan.port && t.port !== null) {
    const outcome = await waitForPort(t.host ?? "127.0.0.1", t.port, {
      timeoutMs: plan.startTimeoutMs,
      isAlive: t.isAlive,
      sleep: clock.sleep,
      now: clock.now,
    });
    if (outcome === "died") return { ok: false, output: [`${t.name} crashed while starting`] };
    if (outcome === "timeout") {
      return {
        ok: false,
        output: [
          `${t.name} did not accept connections on its port within ${Math.round(plan.startTimeoutMs / 1000)}s: make the web process listen on 0.0.0.0:$PORT`,
        ],
      };
    }
  }
  for (const check of plan.http) {
    const res = await runHttpCheck(t, check, clock);
    if (!res.ok) return res;
  }
  if (plan.uptimeMs > 0) {
    const until = clock.now() + plan.uptimeMs;
    while (clock.now() < until) {
      if (!(await t.isAlive())) {
        return {
          ok: false,
          output: [`${t.name} exited within ${Math.round(plan.uptimeMs / 1000)}s of starting`],
        };
      }
      await clock.sleep(Math.min(500, Math.max(1, until - clock.now())));
    }
    if (!(await t.isAlive())) return { ok: false, output: [`${t.name} exited right after starting`] };
  }
  return { ok: true };
}

async function runHttpCheck(t: CheckTarget, check: HealthCheck, clock: CheckClock): Promise<CheckOutcome> {
  if (check.initialDelay > 0) await clock.sleep(check.initialDelay * 1000);
  const output: string[] = [];
  for (let attempt = 1; attempt <= check.attempts; attempt++) {
    if (!(await t.isAlive())) {
      return {
        ok: false,
        output: [`health check "${check.name}" failed: ${t.name} is not running`, ...output],
      };
    }
    if (check.path && t.port !== null) {
      const res = await httpGet(
        t.host ?? "127.0.0.1",
        t.port,
        check.path,
        t.hostHeader,
        check.timeout * 1000,
      );
      const okStatus = res.status >= 200 && res.status < 400;
      const okContent = check.content === undefined || res.body.includes(check.content);
      if (okStatus && okContent) return { ok: true };
      const why = res.error
        ? res.error
        : !okStatus
          ? `status ${res.status}`
          : `the body does not contain ${JSON.stringify(check.content)}`;
      output.push(`attempt ${attempt}/${check.attempts}: GET ${check.path} -> ${why}`);
    } else {
      return { ok: true };
    }
    if (attempt < check.attempts) await clock.sleep(check.wait * 1000);
  }
  // The first line is the summary, printed last under the attempts (the details): it reads
  // complete on its own, with the last attempt's answer.
  const last = output.at(-1)?.replace(/^attempt \d+\/\d+: /, "") ?? "no answer";
  const tries = check.attempts === 1 ? "1 attempt" : `${check.attempts} attempts`;
  return {
    ok: false,
    output: [`health check "${check.name}" failed for ${t.name} after ${tries} (last: ${last})`, ...output],
  };
}

/** One GET of a health check path: status and the first 64 KiB of the body, or why it failed. */
export function httpGet(
  address: string,
  port: number,
  path: string,
  host: string,
  timeoutMs: number,
): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: address,
        port,
        path,
        method: "GET",
        headers: { host, "user-agent": "paas-healthcheck" },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          if (body.length < 65536) body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", (err) => resolve({ status: 0, body, error: err.message }));
      },
    );
    req.setTimeout(Math.max(1, timeoutMs), () =>
      req.destroy(new Error(`timed out after ${timeoutMs / 1000}s`)),
    );
    req.on("error", (err) => resolve({ status: 0, body: "", error: err.message }));
    req.end();
  });
}

/** The checks for one container of a process type. */
export function checkPlanFor(
  type: string,
  healthchecks: Record<string, HealthCheck[]>,
  opts: { startTimeoutMs: number; uptimeMs: number; disabled: boolean },
): CheckPlan {
  if (opts.disabled) return { port: false, startTimeoutMs: opts.startTimeoutMs, uptimeMs: 0, http: [] };
  // Only startup checks gate a deploy; liveness and readiness are the health monitor's.
  const http = checksOfType(healthchecks, type, "startup");
  const uptime = Math.max(opts.uptimeMs, ...http.map((c) => (c.uptime ?? 0) * 1000));
  return { port: type === "web", startTimeoutMs: opts.startTimeoutMs, uptimeMs: uptime, http };
}
