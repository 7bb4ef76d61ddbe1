import http from "node:http";
import { performance } from "node:perf_hooks";
import { sleep } from "./util.js";

// A steady, bounded HTTP load for the zero-downtime scenario: a fixed number of loops, each
// one keep-alive connection's worth of sequential GETs to 127.0.0.1:<port> with a Host
// header. Every request is counted against the phase that was current when it started, so
// a phase's numbers are exactly what clients saw while that change was going on. Each loop
// stops at stop(), at its request cap, or at the deadline, whichever comes first.

export interface PhaseCount {
  name: string;
  startedAt: number;
  endedAt: number | null;
  total: number;
  failed: number;
  /** Failure kind ("status 502", "ECONNRESET"...) -> count. */
  failures: Record<string, number>;
  /** First 60 characters of each 200 body -> count (shows the switch from old to new). */
  bodies: Record<string, number>;
  latenciesMs: number[];
}

export interface LoadOptions {
  /** Where the router listens (default 127.0.0.1; the swarm bench: its test engine's address). */
  address?: string;
  port: number;
  host: string;
  path: string;
  loops: number;
  /** Pause between a loop's requests (ms): keeps the load steady rather than saturating. */
  pauseMs: number;
  /** Requests per loop, over all phases. */
  capPerLoop: number;
  /** Absolute performance.now() after which every loop stops. */
  deadline: number;
  timeoutMs: number;
}

function newPhase(name: string): PhaseCount {
  return {
    name,
    startedAt: performance.now(),
    endedAt: null,
    total: 0,
    failed: 0,
    failures: {},
    bodies: {},
    latenciesMs: [],
  };
}

export class Load {
  private current: PhaseCount;
  readonly phases: PhaseCount[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private agents: http.Agent[] = [];
  /** Whether some loop stopped on its cap or the deadline rather than at stop(). */
  capped = false;

  constructor(private readonly o: LoadOptions) {
    this.current = newPhase("(warm-up)");
  }

  start(): void {
    for (let i = 0; i < this.o.loops; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      this.loops.push(this.loop(agent));
    }
  }

  /** End the current phase and start counting a new one; returns the one that ended. */
  phase(name: string): PhaseCount {
    const ended = this.current;
    ended.endedAt = performance.now();
    this.current = newPhase(name);
    this.phases.push(this.current);
    return ended;
  }

  /** Stop every loop (in-flight requests finish or time out) and close the connections. */
  async stop(): Promise<PhaseCount> {
    const last = this.current;
    if (last.endedAt === null) last.endedAt = performance.now();
    this.stopped = true;
    await Promise.all(this.loops);
    for (const a of this.agents) a.destroy();
    return last;
  }

  private async loop(agent: http.Agent): Promise<void> {
    for (let i = 0; i < this.o.capPerLoop; i++) {
      if (this.stopped) return;
      if (performance.now() > this.o.deadline) {
        this.capped = true;
        return;
      }
      const phase = this.current;
      phase.total++;
      const t0 = performance.now();
      try {
        const r = await this.get(agent);
        phase.latenciesMs.push(performance.now() - t0);
        if (r.status === 200) {
          const key = r.body.slice(0, 60).trim();
          phase.bodies[key] = (phase.bodies[key] ?? 0) + 1;
        } else {
          this.fail(phase, `status ${r.status}`);
        }
      } catch (err) {
        phase.latenciesMs.push(performance.now() - t0);
        const e = err as NodeJS.ErrnoException;
        this.fail(phase, e.code ?? e.message);
      }
      if (this.o.pauseMs > 0) await sleep(this.o.pauseMs);
    }
    this.capped = true;
  }

  private fail(phase: PhaseCount, kind: string): void {
    phase.failed++;
    phase.failures[kind] = (phase.failures[kind] ?? 0) + 1;
  }

  private get(agent: http.Agent): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        {
          host: this.o.address ?? "127.0.0.1",
          port: this.o.port,
          path: this.o.path,
          headers: { host: this.o.host },
          agent,
          timeout: this.o.timeoutMs,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
      req.on("error", reject);
    });
  }
}

export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
