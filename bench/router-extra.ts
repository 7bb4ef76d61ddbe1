import fs from "node:fs";
import path from "node:path";
import type { Redis } from "ioredis";
import { buildTable, lookup } from "../src/router/table.js";
import { Keys } from "../src/store/keys.js";
import type { RouteEntry } from "../src/store/routes.js";
import type { BenchContext } from "./scenarios.js";
import { type Child, freePort, startChild, which } from "./util.js";

// More pieces of the router scenario: Caddy as a second reference proxy, the filler apps
// that grow a route table to 10,000, and the lookup micro-benchmark.

/** Caddy's Caddyfile: one process, plain HTTP on loopback, keep-alive to the upstreams. */
export function caddyfile(o: {
  dir: string;
  listenPort: number;
  servers: Array<{ name: string; upstreamPort: number }>;
}): string {
  const sites = o.servers
    .map(
      (s) => `http://${s.name}:${o.listenPort} {
  bind 127.0.0.1
  log {
    output file ${o.dir}/caddy-access.log
  }
  reverse_proxy 127.0.0.1:${s.upstreamPort} {
    header_up X-Request-Id {http.request.uuid}
    transport http {
      keepalive 30s
      keepalive_idle_conns 256
      keepalive_idle_conns_per_host 256
    }
  }
}`,
    )
    .join("\n");
  return `# paas bench: Caddy as a reference reverse proxy (generated, temporary)
{
  admin off
  auto_https off
}
${sites}
`;
}

/**
 * Caddy with GOMAXPROCS=1: the router under test is one Node process (one core), nginx runs
 * one worker; Caddy gets one OS thread running Go code to match (it would use every core).
 */
export async function startCaddy(
  ctx: BenchContext,
  dir: string,
  servers: Array<{ name: string; upstreamPort: number }>,
): Promise<{ child: Child; port: number } | null> {
  const bin = which("caddy");
  if (!bin) return null;
  const port = await freePort();
  const conf = path.join(dir, "Caddyfile");
  await fs.promises.writeFile(conf, caddyfile({ dir, listenPort: port, servers }));
  const child = startChild(
    {
      name: "caddy",
      cmd: bin,
      args: ["run", "--config", conf, "--adapter", "caddyfile"],
      env: { ...process.env, GOMAXPROCS: "1", HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      stderrFile: path.join(dir, "caddy-stderr.log"),
    },
    ctx.cleanup,
  );
  return { child, port };
}

/** Filler routes (apps nobody requests) so a router's table holds `total` apps. */
export async function seedFillerApps(
  redis: Redis,
  namespace: string,
  total: number,
  have: number,
): Promise<void> {
  const keys = new Keys(namespace);
  for (let start = 0; start < total - have; start += 1_000) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(start + 1_000, total - have); i++) {
      const app = `filler-${i}`;
      const entry: RouteEntry = {
        app,
        backends: [{ host: "127.0.0.1", port: 9, id: `${app}.web.1` }],
        domains: [],
      };
      p.set(keys.route(app), JSON.stringify(entry)).sadd(keys.routeApps(), app);
    }
    await p.exec();
  }
}

/** ns per lookup() of a Host header (a memo miss: the work a new Host costs) in a table of `apps`. */
export function lookupNs(apps: number, domain: string): number {
  const entries: RouteEntry[] = Array.from({ length: apps }, (_, i) => ({
    app: `app-${i}`,
    backends: [{ host: "127.0.0.1", port: 1000 + (i % 50_000) }],
    domains: [`www.app-${i}.example.com`],
  }));
  const table = buildTable(entries, domain);
  const hosts = Array.from({ length: 1_000 }, (_, i) => {
    const n = (i * 7919) % apps;
    return i % 2 === 0 ? `app-${n}.${domain}` : `www.app-${n}.example.com:8080`;
  });
  let found = 0;
  for (let i = 0; i < 200_000; i++) if (lookup(table, hosts[i % hosts.length])) found++;
  const rounds = 1_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) if (lookup(table, hosts[i % hosts.length])) found++;
  const ns = Number(process.hrtime.bigint() - t0) / rounds;
  if (found === 0) throw new Error("lookup found nothing");
  return ns;
}
