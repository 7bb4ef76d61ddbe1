import type { RouterStatsSnapshot } from "../store/router-stats.js";
import type { Balancer } from "./balancer.js";
import type { RouteTable } from "./table.js";

/** Latency histogram bounds, seconds (Prometheus `le`); the last bucket is +Inf. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Counters of one router process: requests by app and status, and a latency histogram.
 * Recording is a few map and array operations per request; snapshot() turns them into the
 * plain record the process publishes to Redis, where /metrics sums every process's.
 */
export class RouterMetrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  private sum = 0;
  private count = 0;

  record(app: string, status: number, ms: number): void {
    let byStatus = this.requests.get(app);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.requests.set(app, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    const s = ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && s > LATENCY_BUCKETS[i]) i++;
    this.buckets[i]++;
    this.sum += s;
    this.count++;
  }

  snapshot(worker: string, table: RouteTable, balancer: Balancer): RouterStatsSnapshot {
    const requests: Record<string, Record<string, number>> = {};
    for (const [app, byStatus] of this.requests) requests[app] = Object.fromEntries(byStatus);
    const backends = new Set<string>();
    for (const entry of table.apps.values())
      for (const b of entry.backends) backends.add(`${b.host}:${b.port}`);
    const unhealthy = [...balancer.unhealthy()].filter((k) => backends.has(k));
    return {
      worker,
      pid: process.pid,
      at: Date.now(),
      requests,
      latency: { buckets: [...this.buckets], sum: this.sum, count: this.count },
      apps: table.apps.size,
      hosts: table.hosts.size,
      backends: [...backends],
      unhealthy,
    };
  }
}
