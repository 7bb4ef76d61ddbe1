import { buildCacheScenario } from "./build-cache.js";
import { deployScenario } from "./deploy.js";
import { domainsScenario } from "./domains.js";
import { httpsScenario } from "./https.js";
import { logsScenario } from "./logs.js";
import { routerScenario } from "./router.js";
import { swarmScenario } from "./swarm.js";
import type { Cleanup, Say } from "./util.js";
import { zeroDowntimeScenario } from "./zero-downtime.js";

// The scenario registry: `npm run bench -- <name>...` runs the named ones, no names runs
// every scenario whose available() says it can run here.
//
// Adding a scenario: write bench/<name>.ts exporting a Scenario, add it to
// SCENARIOS below. Measure its own baseline in the same run (cold build for warm build, a
// direct hit for a proxied one...) and report ratios against it, so numbers from a busy or
// slow machine still mean something. Register every process, container, temp dir and Redis
// namespace with ctx.cleanup as soon as it exists; main runs the cleanup whatever happens.
// Never fail on a wall-clock threshold: put the target in a Ratio and let main print
// PASS/MISS. Scenarios that need a whole platform start one with BenchPlatform.start
// (./platform.ts: server, CLI login, git push with timed remote: lines, sweep on cleanup).

export interface BenchOptions {
  /** Seconds per measured load run. */
  durationS: number;
  /** Seconds of unmeasured load before the first measured run of each target. */
  warmupS: number;
  /** Each measured run is repeated this many times, interleaved with the others; medians are reported. */
  rounds: number;
  threads: number;
  connections: number;
  redisUrl: string;
  /** Ask scenarios to collect a CPU profile of the component under test. */
  profile: boolean;
  /** Seconds of extra sustained load for memory-growth checks (0: none; the router's --soak). */
  soakS: number;
}

export interface BenchContext {
  options: BenchOptions;
  cleanup: Cleanup;
  /** Progress lines (stderr); results go in the ScenarioResult. */
  say: Say;
}

export interface Metric {
  value: number | null;
  unit: string;
}

/** One line of a scenario's table, e.g. "router -> node": req/s, p50, p99... */
export interface ResultRow {
  /** Rows print as one table per group (e.g. "throughput", "memory"); default "results". */
  group?: string;
  label: string;
  metrics: Record<string, Metric>;
}

export interface Target {
  /** PASS when value >= min (and <= max when given). */
  min?: number;
  max?: number;
  /** Why this target, in words, printed next to the verdict. */
  text: string;
}

export interface Ratio {
  name: string;
  value: number | null;
  /** What it is a ratio of, e.g. "router req/s / nginx req/s". */
  of: string;
  target?: Target;
}

export interface ScenarioResult {
  scenario: string;
  rows: ResultRow[];
  ratios: Ratio[];
  /** Conditions worth knowing when reading the numbers (fairness, errors, machine load). */
  notes: string[];
  /** Anything else for the JSON file (per-round raw numbers...). */
  raw?: unknown;
}

export interface Scenario {
  name: string;
  describe: string;
  /** null when the scenario can run here, else why not (missing tool, no Docker...). */
  available?(options: BenchOptions): Promise<string | null>;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export const SCENARIOS: readonly Scenario[] = [
  routerScenario,
  deployScenario,
  buildCacheScenario,
  zeroDowntimeScenario,
  domainsScenario,
  httpsScenario,
  logsScenario,
  swarmScenario,
];

export function verdict(r: Ratio): "PASS" | "MISS" | null {
  if (!r.target || r.value === null) return null;
  const { min, max } = r.target;
  const ok = (min === undefined || r.value >= min) && (max === undefined || r.value <= max);
  return ok ? "PASS" : "MISS";
}
