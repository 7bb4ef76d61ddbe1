import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { connectDocker, LABEL, ownedLabels } from "../src/docker/index.js";
import type { BenchContext } from "./scenarios.js";
import { benchScript, type Child, GiveUp, probe, startChild, waitFor } from "./util.js";
import type { WrkResult } from "./wrk.js";

// Pieces of the router scenario: constants, the nginx config, the upstreams and the sweep of
// what an interrupted run left behind.

export const DOMAIN = "bench.test";
export const NODE_APP = "bench";
export const BOX_APP = "bench-busybox";
export const BOX_IMAGE = "paas/busybox:latest";
export const BOX_PORT = 8080;
// Targets (issue 8), one router process, same run, access line going to the log stream.
/** Router req/s over the bare node:http proxy's. */
export const ROUTER_VS_BARE_NODE_RPS = 0.95;
/** Router req/s over Caddy's (GOMAXPROCS=1). */
export const ROUTER_VS_CADDY_RPS = 1.0;
/** Router CPU per request over the bare node:http proxy's: at most. */
export const ROUTER_VS_BARE_NODE_CPU = 1.1;
/** Router p99 over nginx's, and over Caddy's: at most. */
export const ROUTER_VS_NGINX_P99 = 1.5;
export const ROUTER_VS_CADDY_P99 = 1.0;
/** RSS after the --soak load over RSS before it: at most. */
export const SOAK_RSS_GROWTH = 1.2;

export type Upstream = "node" | "busybox";
export type Via =
  | "direct"
  | "nginx"
  | "caddy"
  | "node-proxy"
  | "router"
  | "router-nolog"
  | "router-2w"
  | "router-10k";
export const VIAS: readonly Via[] = [
  "direct",
  "nginx",
  "caddy",
  "node-proxy",
  "router",
  "router-nolog",
  "router-2w",
  "router-10k",
];
export const VIAS_FOR: Record<Upstream, readonly Via[]> = {
  node: VIAS,
  busybox: ["direct", "nginx", "caddy", "node-proxy", "router"],
};

/** A fixed body of exactly `size` bytes, naming who sent it so probes can tell them apart. */
export function fixedBody(who: string, size = 100): string {
  return `${`paas bench upstream ${who} `.padEnd(size - 1, ".")}\n`;
}

export interface Endpoint {
  upstream: Upstream;
  /** Port of the upstream itself. */
  port: number;
  body: string;
  /** Host header the proxies route by. */
  host: string;
}

export interface Sample {
  round: number;
  upstream: Upstream;
  via: Via;
  wrk: WrkResult;
  /** CPU seconds the proxy (its process, or nginx master+workers) used during the run. */
  proxyCpuS: number | null;
}

export interface NginxConfInput {
  dir: string;
  listenPort: number;
  servers: Array<{ name: string; upstreamPort: number; id: string }>;
  workers: number;
}

/** nginx.conf for the comparison: foreground, everything under `dir`, keep-alive to upstreams. */
export function nginxConf(o: NginxConfInput): string {
  const upstreams = o.servers
    .map(
      (s) => `  upstream ${s.id} {
    server 127.0.0.1:${s.upstreamPort};
    keepalive 64;
  }`,
    )
    .join("\n");
  const servers = o.servers
    .map(
      (s) => `  server {
    listen 127.0.0.1:${o.listenPort};
    server_name ${s.name};
    location / {
      proxy_pass http://${s.id};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Request-Id $request_id;
    }
  }`,
    )
    .join("\n");
  return `# paas bench: nginx as the reference reverse proxy (generated, temporary)
daemon off;
master_process on;
worker_processes ${o.workers};
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/nginx-error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log ${o.dir}/nginx-access.log combined;
  client_body_temp_path ${o.dir}/client_body;
  proxy_temp_path ${o.dir}/proxy;
  fastcgi_temp_path ${o.dir}/fastcgi;
  uwsgi_temp_path ${o.dir}/uwsgi;
  scgi_temp_path ${o.dir}/scgi;
${upstreams}
  server {
    listen 127.0.0.1:${o.listenPort} default_server;
    return 404;
  }
${servers}
}
`;
}

/** Run one of our dist-bench/bench/*-child.js scripts; resolves with the port it printed. */
export async function startNodeChild(
  ctx: BenchContext,
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  nodeArgs: string[] = [],
): Promise<{ child: Child; port: number }> {
  const child = startChild(
    {
      name,
      cmd: process.execPath,
      args: [...nodeArgs, benchScript(script)],
      env: { ...process.env, ...env },
      stderrFile: logFile,
      lifeline: true,
    },
    ctx.cleanup,
  );
  const m = await child.waitForLine(/^READY (.*)$/, 15_000);
  return { child, port: (JSON.parse(m[1]) as { port: number }).port };
}

/** paas/busybox httpd in a container published on 127.0.0.1; null (with a note) when Docker cannot. */
export async function startBusybox(
  ctx: BenchContext,
  namespace: string,
  body: string,
  notes: string[],
): Promise<{ id: string; port: number } | null> {
  const docker = connectDocker();
  try {
    if ((await docker.images.inspect(BOX_IMAGE)) === null) {
      notes.push(`busybox upstream skipped: image ${BOX_IMAGE} not present (npm run setup builds it)`);
      return null;
    }
  } catch (err) {
    notes.push(`busybox upstream skipped: Docker not reachable (${(err as Error).message})`);
    return null;
  }
  const id = await docker.containers.create({
    name: `${namespace}-busybox`,
    Image: BOX_IMAGE,
    Cmd: [
      "sh",
      "-c",
      `mkdir -p /www && printf '%s' "$BODY" > /www/index.html && exec httpd -f -p ${BOX_PORT} -h /www`,
    ],
    Env: [`BODY=${body}`],
    Labels: ownedLabels(namespace, { [LABEL.kind]: "bench", [LABEL.app]: BOX_APP }),
    ExposedPorts: { [`${BOX_PORT}/tcp`]: {} },
    HostConfig: {
      PortBindings: { [`${BOX_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      LogConfig: { Type: "none", Config: {} },
    },
  });
  ctx.cleanup.add(`remove container ${id.slice(0, 12)}`, () => docker.containers.remove(id));
  await docker.containers.start(id);
  const info = await docker.containers.inspect(id);
  const hostPort = info?.NetworkSettings.Ports?.[`${BOX_PORT}/tcp`]?.[0]?.HostPort;
  if (!hostPort) throw new Error(`busybox container ${id.slice(0, 12)} has no published port`);
  return { id, port: Number(hostPort) };
}

/** Wait until a path answers 200 with exactly the upstream's body; fail fast if `owner` dies. */
export async function expectBody(
  what: string,
  port: number,
  host: string | undefined,
  body: string,
  owner?: Child,
): Promise<void> {
  await waitFor(
    `${what} to answer with its body`,
    async () => {
      if (owner?.exited()) throw new GiveUp(`${owner.name} exited:\n${owner.tail()}`);
      const r = await probe(port, host);
      if (r.status === 200 && r.body === body) return true;
      throw new Error(`got ${r.status}: ${r.body.slice(0, 120)}`);
    },
    15_000,
  );
}

export const DIR_PREFIX = "paas-bench-router-";
export const NAMESPACE_RE = /^bench-[0-9a-f]{8}$/;

/** Written into the run's temp dir so a later run can clean up after one that was killed outright. */
export interface Owner {
  pid: number;
  namespace: string;
  containerId?: string;
}

export function writeOwner(dir: string, owner: Owner): void {
  fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify(owner));
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function deleteNamespace(redis: Redis, namespace: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

/**
 * A harness killed outright (SIGKILL, OOM) cannot run its cleanup; its Node children exit
 * by themselves (stdin lifeline), but its nginx, container, Redis keys and temp dir stay.
 * Remove those, for runs whose harness process is gone only.
 */
export async function sweepLeftovers(redis: Redis, say: (line: string) => void): Promise<void> {
  for (const name of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = path.join(os.tmpdir(), name);
    let owner: Owner;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, "owner.json"), "utf8")) as Owner;
    } catch {
      continue;
    }
    if (!Number.isInteger(owner.pid) || pidAlive(owner.pid) || !NAMESPACE_RE.test(owner.namespace)) continue;
    try {
      // Only the nginx whose command line names this run's directory.
      const nginxPid = Number(fs.readFileSync(path.join(dir, "nginx.pid"), "utf8").trim());
      if (fs.readFileSync(`/proc/${nginxPid}/cmdline`, "utf8").includes(dir))
        process.kill(nginxPid, "SIGTERM");
    } catch {}
    // By id, or by the name it was given (a run killed between create and writeOwner).
    await connectDocker()
      .containers.remove(owner.containerId ?? `${owner.namespace}-busybox`)
      .catch(() => {});
    await deleteNamespace(redis, owner.namespace).catch(() => {});
    await fs.promises.rm(dir, { recursive: true, force: true });
    say(`removed what an earlier, killed bench run left (pid ${owner.pid}, ${owner.namespace})`);
  }
}
