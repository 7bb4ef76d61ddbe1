import type { Request, Response } from "express";
import { messageOf } from "../errors.js";
import type { Store } from "../store/index.js";
import { type RouterStatsSnapshot, RouterStatsStore } from "../store/router-stats.js";

// GET /metrics on the API port, in Prometheus' text format (version 0.0.4). Every router
// process publishes its counters to Redis every few seconds (router/metrics.ts); this sums
// them, so one scrape sees all workers on all hosts. Behind the API's token (today the
// admin token is the only one: admin-only by construction).

/** Latency bounds, seconds: the same list as router/metrics.ts (kept in the snapshot order). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Certificate expiry buckets, days. */
const EXPIRY_DAYS = [0, 7, 14, 30, 60, 90];

export interface CertExpiry {
  app: string;
  notAfter: string;
}

export function metricsHandler(store: Store) {
  const stats = new RouterStatsStore(store.redis, store.keys);
  return async (_req: Request, res: Response) => {
    try {
      const snapshots = await stats.all();
      const certs = await certExpiries(store);
      res.type("text/plain; version=0.0.4; charset=utf-8").send(renderMetrics(snapshots, certs, Date.now()));
    } catch (err) {
      res
        .status(503)
        .type("text/plain")
        .send(`metrics unavailable: ${messageOf(err)}\n`);
    }
  };
}

async function certExpiries(store: Store): Promise<CertExpiry[]> {
  const out: CertExpiry[] = [];
  for (const app of await store.certs.appsWithCerts()) {
    for (const c of await store.certs.list(app)) out.push({ app, notAfter: c.notAfter });
  }
  const def = await store.certs.getDefault();
  if (def) out.push({ app: "", notAfter: def.notAfter });
  return out;
}

/** The text a scrape gets: pure, so the format is tested without Redis. */
export function renderMetrics(snapshots: RouterStatsSnapshot[], certs: CertExpiry[], now: number): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family("paas_router_requests_total", "counter", "Requests answered by the router, by app and status.");
  const requests = new Map<string, number>();
  for (const s of snapshots) {
    for (const [app, byStatus] of Object.entries(s.requests)) {
      for (const [status, n] of Object.entries(byStatus)) {
        const k = `${app}\t${status}`;
        requests.set(k, (requests.get(k) ?? 0) + n);
      }
    }
  }
  for (const [k, n] of [...requests].sort()) {
    const [app, status] = k.split("\t");
    out.push(`paas_router_requests_total{app="${esc(app)}",status="${esc(status)}"} ${n}`);
  }

  family("paas_router_request_duration_seconds", "histogram", "Time from request to the end of the answer.");
  const buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  let sum = 0;
  let count = 0;
  for (const s of snapshots) {
    s.latency.buckets.forEach((n, i) => {
      if (i < buckets.length) buckets[i] += n;
    });
    sum += s.latency.sum;
    count += s.latency.count;
  }
  let cumulative = 0;
  LATENCY_BUCKETS.forEach((le, i) => {
    cumulative += buckets[i];
    out.push(`paas_router_request_duration_seconds_bucket{le="${le}"} ${cumulative}`);
  });
  out.push(`paas_router_request_duration_seconds_bucket{le="+Inf"} ${count}`);
  out.push(`paas_router_request_duration_seconds_sum ${sum}`);
  out.push(`paas_router_request_duration_seconds_count ${count}`);

  // A backend is down when any router process holds it down or ejected.
  const backends = new Set<string>();
  const unhealthy = new Set<string>();
  for (const s of snapshots) {
    for (const b of s.backends) backends.add(b);
    for (const b of s.unhealthy) unhealthy.add(b);
  }
  family(
    "paas_router_backends",
    "gauge",
    "Backends in the route table, by state (down: marked down or ejected).",
  );
  out.push(`paas_router_backends{state="up"} ${[...backends].filter((b) => !unhealthy.has(b)).length}`);
  out.push(`paas_router_backends{state="down"} ${[...backends].filter((b) => unhealthy.has(b)).length}`);

  family("paas_router_table_apps", "gauge", "Apps in the route table (the largest of any router process).");
  out.push(`paas_router_table_apps ${Math.max(0, ...snapshots.map((s) => s.apps))}`);
  family(
    "paas_router_table_hosts",
    "gauge",
    "Host names in the route table (the largest of any router process).",
  );
  out.push(`paas_router_table_hosts ${Math.max(0, ...snapshots.map((s) => s.hosts))}`);
  family("paas_router_workers", "gauge", "Router processes that published in the last 30 seconds.");
  out.push(`paas_router_workers ${snapshots.length}`);

  family(
    "paas_certificates",
    "gauge",
    "TLS certificates by days left before expiry (le: at most that many days).",
  );
  const days = certs.map((c) => (Date.parse(c.notAfter) - now) / 86_400_000);
  for (const le of EXPIRY_DAYS)
    out.push(`paas_certificates{days_left_le="${le}"} ${days.filter((d) => d <= le).length}`);
  out.push(`paas_certificates{days_left_le="+Inf"} ${days.length}`);
  family("paas_certificate_expiry_days", "gauge", "Days left before each certificate expires.");
  for (const [i, c] of certs.entries()) {
    out.push(
      `paas_certificate_expiry_days{app="${esc(c.app || "(default)")}",n="${i}"} ${days[i].toFixed(2)}`,
    );
  }
  return `${out.join("\n")}\n`;
}

/** Prometheus label value escaping: backslash, double quote, newline. */
function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
