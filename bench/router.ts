import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { storeOver } from "../src/store/index.js";
import { formatProfile, type ProfileSummary, summarizeProfileDir } from "./profile.js";
import { lookupNs, seedFillerApps, startCaddy } from "./router-extra.js";
import {
  BOX_APP,
  BOX_IMAGE,
  DIR_PREFIX,
  DOMAIN,
  deleteNamespace,
  type Endpoint,
  expectBody,
  fixedBody,
  NODE_APP,
  nginxConf,
  type Owner,
  type Sample,
  startBusybox,
  startNodeChild,
  sweepLeftovers,
  type Upstream,
  VIAS_FOR,
  type Via,
  writeOwner,
} from "./router-parts.js";
import { type Agg, routerRatios } from "./router-report.js";
import type { BenchContext, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import {
  type Child,
  cpuSeconds,
  freePort,
  makeTempDir,
  median,
  processGroupPids,
  procStatusKb,
  rssKb,
  startChild,
  totalRssKb,
  which,
} from "./util.js";
import { runWrk, totalErrors } from "./wrk.js";

// Router scenario: the same small response fetched several ways, all over loopback:
//   direct        wrk straight at the upstream (the ceiling)
//   nginx         nginx as reverse proxy: 1 worker, upstream keepalive, HTTP/1.1 (the reference)
//   caddy         Caddy 2 reverse_proxy, GOMAXPROCS=1, keep-alive (what Coolify/Dokploy users run)
//   node-proxy    a bare node:http proxy, ~30 lines (what any one-process Node proxy costs here)
//   router        the paas router, one process: routes from a real Redis, a Heroku router line
//                 per request batched into the app's log stream in Redis, counters published
//   router-nolog  the same router without the access line (what the line costs)
//   router-2w     the router as PAAS_ROUTER_WORKERS=2 (node:cluster, two processes)
//   router-10k    the router with 10,000 apps in its table (the others have 10)
// against two upstreams: a node:http child process (fast, keep-alive) and a paas/busybox
// container running httpd (the container path: docker-proxy, a new connection per request).
// wrk, each proxy and the upstream run in processes of their own; the harness starts them,
// and reads /proc between runs. --soak=S adds S seconds of load on the router, RSS before
// and after.

const SMALL_TABLE = 10;
const LARGE_TABLE = 10_000;

const kbToMb = (kb: number | null) => (kb === null ? null : kb / 1024);

async function runRouterScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { options: o, say, cleanup } = ctx;
  const notes: string[] = [];
  const namespace = `bench-${randomBytes(4).toString("hex")}`;
  const dir = await makeTempDir(DIR_PREFIX, cleanup);
  const owner: Owner = { pid: process.pid, namespace };
  writeOwner(dir, owner);
  // nginx workers run as nobody when the master is root; let them reach their paths.
  await fs.promises.chmod(dir, 0o755);
  const log = (name: string) => path.join(dir, `${name}.log`);

  // Route table in a namespace of its own; every key under it goes at the end.
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  cleanup.add("close bench Redis connection", () => void redis.disconnect());
  await redis.connect();
  cleanup.add(`delete Redis keys ${namespace}:*`, () => deleteNamespace(redis, namespace));
  await sweepLeftovers(redis, say);
  const store = storeOver(redis, namespace);

  // Upstreams.
  const endpoints: Endpoint[] = [];
  const nodeBody = fixedBody("node");
  say("starting upstream: node:http child process");
  const up = await startNodeChild(
    ctx,
    "upstream (node:http)",
    "upstream-child",
    { PAAS_BENCH_BODY: nodeBody },
    log("upstream"),
  );
  await expectBody("node upstream", up.port, undefined, nodeBody);
  endpoints.push({ upstream: "node", port: up.port, body: nodeBody, host: `${NODE_APP}.${DOMAIN}` });

  say(`starting upstream: ${BOX_IMAGE} httpd container`);
  const boxBody = fixedBody("busybox");
  const box = await startBusybox(ctx, namespace, boxBody, notes);
  if (box) {
    writeOwner(dir, { ...owner, containerId: box.id });
    await expectBody("busybox upstream", box.port, undefined, boxBody);
    endpoints.push({ upstream: "busybox", port: box.port, body: boxBody, host: `${BOX_APP}.${DOMAIN}` });
  }
  const appOf = (e: Endpoint) => (e.upstream === "node" ? NODE_APP : BOX_APP);
  for (const e of endpoints) {
    await store.routes.put({
      app: appOf(e),
      backends: [{ host: "127.0.0.1", port: e.port, id: `bench-${e.upstream}` }],
      domains: [],
    });
  }

  // A second namespace whose table has 10,000 apps: the same two plus filler apps.
  const bigNamespace = `${namespace}-10k`;
  const bigStore = storeOver(redis, bigNamespace);
  cleanup.add(`delete Redis keys ${bigNamespace}:*`, () => deleteNamespace(redis, bigNamespace));
  for (const e of endpoints) {
    await bigStore.routes.put({
      app: appOf(e),
      backends: [{ host: "127.0.0.1", port: e.port, id: `bench-${e.upstream}` }],
      domains: [],
    });
  }
  await seedFillerApps(redis, namespace, SMALL_TABLE, endpoints.length);
  say(`seeding ${LARGE_TABLE} routes`);
  await seedFillerApps(redis, bigNamespace, LARGE_TABLE, endpoints.length);

  // The paas router, in its own process(es).
  const routerEnv = (accessLog: "on" | "off", ns = namespace, workers = 1) => ({
    PAAS_REDIS_URL: o.redisUrl,
    PAAS_NAMESPACE: ns,
    PAAS_DOMAIN: DOMAIN,
    PAAS_BENCH_ACCESS_LOG: accessLog,
    PAAS_BENCH_WORKERS: String(workers),
  });
  say("starting the paas router (access line to the log stream)");
  const router = await startNodeChild(ctx, "paas router", "router-child", routerEnv("on"), log("router"));
  say("starting the paas router without access line");
  const routerNolog = await startNodeChild(
    ctx,
    "paas router (no log)",
    "router-child",
    routerEnv("off"),
    log("router-nolog"),
  );
  say("starting the paas router with 2 workers");
  const router2w = await startNodeChild(
    ctx,
    "paas router (2 workers)",
    "router-child",
    routerEnv("on", namespace, 2),
    log("router-2w"),
  );
  say(`starting the paas router with ${LARGE_TABLE} apps`);
  const router10k = await startNodeChild(
    ctx,
    "paas router (10k apps)",
    "router-child",
    routerEnv("on", bigNamespace),
    log("router-10k"),
  );

  say("starting the bare node:http proxy (child process)");
  const nodeProxy = await startNodeChild(
    ctx,
    "bare node proxy",
    "proxy-child",
    { PAAS_BENCH_ROUTES: JSON.stringify(Object.fromEntries(endpoints.map((e) => [e.host, e.port]))) },
    log("node-proxy"),
  );

  // nginx, one worker: the router is one Node process on one core, so this is the like-for-like.
  const nginxBin = which("nginx");
  if (!nginxBin) throw new Error("nginx not found");
  const nginxPort = await freePort();
  const confFile = path.join(dir, "nginx.conf");
  await fs.promises.writeFile(
    confFile,
    nginxConf({
      dir,
      listenPort: nginxPort,
      workers: 1,
      servers: endpoints.map((e) => ({ name: e.host, upstreamPort: e.port, id: `up_${e.upstream}` })),
    }),
  );
  say("starting nginx (worker_processes 1)");
  const nginx = startChild(
    {
      name: "nginx",
      cmd: nginxBin,
      args: ["-p", dir, "-c", confFile, "-e", path.join(dir, "nginx-error.log")],
      stderrFile: log("nginx-stderr"),
    },
    cleanup,
  );
  const nginxPids = () => processGroupPids(nginx.pid);

  say("starting caddy (GOMAXPROCS=1)");
  const caddy = await startCaddy(
    ctx,
    dir,
    endpoints.map((e) => ({ name: e.host, upstreamPort: e.port })),
  );
  if (!caddy) throw new Error("caddy not found (scripts/setup.sh installs it)");

  // Where each path listens, which process serves it (CPU/RSS, liveness), per upstream.
  const paths: Record<
    Via,
    { port: (e: Endpoint) => number; owner: Child | null; pids: () => number[] | null }
  > = {
    direct: { port: (e) => e.port, owner: null, pids: () => null },
    nginx: { port: () => nginxPort, owner: nginx, pids: nginxPids },
    caddy: { port: () => caddy.port, owner: caddy.child, pids: () => [caddy.child.pid] },
    "node-proxy": { port: () => nodeProxy.port, owner: nodeProxy.child, pids: () => [nodeProxy.child.pid] },
    router: { port: () => router.port, owner: router.child, pids: () => [router.child.pid] },
    "router-nolog": {
      port: () => routerNolog.port,
      owner: routerNolog.child,
      pids: () => [routerNolog.child.pid],
    },
    "router-2w": {
      port: () => router2w.port,
      owner: router2w.child,
      pids: () => processGroupPids(router2w.child.pid),
    },
    "router-10k": { port: () => router10k.port, owner: router10k.child, pids: () => [router10k.child.pid] },
  };
  const portOf = (e: Endpoint, via: Via) => paths[via].port(e);
  // Every path answers with the right upstream's body before any load.
  for (const e of endpoints) {
    for (const via of VIAS_FOR[e.upstream]) {
      const host = via === "direct" ? undefined : e.host;
      await expectBody(
        `${via} -> ${e.upstream}`,
        portOf(e, via),
        host,
        e.body,
        paths[via].owner ?? undefined,
      );
    }
  }
  const children = [
    router.child,
    routerNolog.child,
    router2w.child,
    router10k.child,
    nodeProxy.child,
    nginx,
    caddy.child,
    up.child,
  ];
  const alive = () => {
    for (const c of children)
      if (c.exited()) throw new Error(`${c.name} died during the benchmark\n${c.tail()}`);
  };

  const memBefore = {
    routerRssKb: rssKb(router.child.pid),
    caddyRssKb: rssKb(caddy.child.pid),
    nodeProxyRssKb: rssKb(nodeProxy.child.pid),
    nginxRssKb: totalRssKb(nginxPids()),
    nginxProcesses: nginxPids().length,
  };

  const load = (e: Endpoint, via: Via, durationS: number) =>
    runWrk({
      url: `http://127.0.0.1:${portOf(e, via)}/`,
      host: e.host,
      threads: o.threads,
      connections: o.connections,
      durationS,
    });

  // Warm-up (unmeasured): JIT in the Node processes, connection pools in every proxy.
  if (o.warmupS > 0) {
    for (const e of endpoints) {
      for (const via of VIAS_FOR[e.upstream]) {
        say(`warm-up ${o.warmupS}s: ${e.upstream} ${via}`);
        await load(e, via, o.warmupS);
        alive();
      }
    }
  }

  const samples: Sample[] = [];
  const loads: number[][] = [];
  for (let round = 0; round < o.rounds; round++) {
    for (const e of endpoints) {
      // Rotate the order each round so no path always runs first (or last) on a busy box.
      const vias = VIAS_FOR[e.upstream];
      const order = vias.map((_, i) => vias[(i + round) % vias.length]);
      for (const via of order) {
        const pids = paths[via].pids();
        const cpu0 = pids ? cpuSeconds(pids) : 0;
        say(`round ${round + 1}/${o.rounds}: ${e.upstream} ${via} ${o.durationS}s`);
        const wrk = await load(e, via, o.durationS);
        const proxyCpuS = pids ? cpuSeconds(pids) - cpu0 : null;
        alive();
        samples.push({ round, upstream: e.upstream, via, wrk, proxyCpuS });
        say(
          `  ${wrk.requestsPerSec.toFixed(0)} req/s, p50 ${wrk.latency.p50Ms?.toFixed(2)}ms, ` +
            `p99 ${wrk.latency.p99Ms?.toFixed(2)}ms, errors ${totalErrors(wrk)}`,
        );
      }
    }
    loads.push(os.loadavg());
  }

  const memAfter = {
    routerRssKb: rssKb(router.child.pid),
    caddyRssKb: rssKb(caddy.child.pid),
    routerPeakKb: procStatusKb(router.child.pid, "VmHWM"),
    nodeProxyRssKb: rssKb(nodeProxy.child.pid),
    nodeProxyPeakKb: procStatusKb(nodeProxy.child.pid, "VmHWM"),
    nginxRssKb: totalRssKb(nginxPids()),
  };

  // The soak: sustained load on the warm router, RSS just before and after.
  let soak: { beforeKb: number | null; afterKb: number | null; wrk: unknown } | null = null;
  if (o.soakS > 0) {
    const e = endpoints.find((x) => x.upstream === "node")!;
    const beforeKb = rssKb(router.child.pid);
    say(`soak: ${o.soakS}s of load on the router (RSS before ${((beforeKb ?? 0) / 1024).toFixed(1)} MB)`);
    const wrk = await load(e, "router", o.soakS);
    alive();
    // A moment for the sink to drain and a scavenge to run, as between any two bursts.
    await new Promise((r) => setTimeout(r, 2_000));
    soak = { beforeKb, afterKb: rssKb(router.child.pid), wrk };
    say(`  RSS after ${((soak.afterKb ?? 0) / 1024).toFixed(1)} MB, ${totalErrors(wrk)} errors`);
  }
  say("route lookup micro-benchmark");
  const lookup = {
    small: lookupNs(SMALL_TABLE, DOMAIN),
    large: lookupNs(LARGE_TABLE, DOMAIN),
    smallApps: SMALL_TABLE,
    largeApps: LARGE_TABLE,
  };

  // Profiling is its own extra run (profiling slows the process, so never during the
  // measured ones): a fresh router with --cpu-prof, node upstream, then stopped and read.
  let profiles: ProfileSummary[] = [];
  const nodeEndpoint = endpoints.find((e) => e.upstream === "node")!;
  if (o.profile) {
    const profileDir = path.join(os.tmpdir(), `paas-bench-profile-${namespace}`);
    say(`profiling the router: ${o.warmupS + o.durationS}s of load with --cpu-prof`);
    const prof = await startNodeChild(
      ctx,
      "paas router (profiled)",
      "router-child",
      routerEnv("on"),
      log("router-prof"),
      ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
    );
    const target = { ...nodeEndpoint };
    await runWrk({
      url: `http://127.0.0.1:${prof.port}/`,
      host: target.host,
      threads: o.threads,
      connections: o.connections,
      durationS: o.warmupS + o.durationS,
    });
    await prof.child.stop();
    profiles = summarizeProfileDir(profileDir);
    for (const p of profiles) say(formatProfile(p));
    notes.push(`router CPU profile kept in ${profileDir} (Chrome DevTools > Performance > Load profile)`);
  }

  // Medians over rounds.
  const agg = new Map<string, Agg>();
  for (const e of endpoints) {
    for (const via of VIAS_FOR[e.upstream]) {
      const s = samples.filter((x) => x.upstream === e.upstream && x.via === via);
      const cpu = s.filter((x) => x.proxyCpuS !== null && x.wrk.requests > 0);
      agg.set(`${e.upstream}/${via}`, {
        rps: median(s.map((x) => x.wrk.requestsPerSec)),
        p50: median(s.map((x) => x.wrk.latency.p50Ms ?? Number.NaN)),
        p99: median(s.map((x) => x.wrk.latency.p99Ms ?? Number.NaN)),
        errors: s.reduce((n, x) => n + totalErrors(x.wrk), 0),
        requests: s.reduce((n, x) => n + x.wrk.requests, 0),
        cpuUsPerReq:
          cpu.length > 0 ? median(cpu.map((x) => ((x.proxyCpuS ?? 0) * 1e6) / x.wrk.requests)) : null,
      });
    }
  }
  const get = (u: Upstream, v: Via) => agg.get(`${u}/${v}`);

  const rows: ResultRow[] = [];
  for (const e of endpoints) {
    for (const via of VIAS_FOR[e.upstream]) {
      const a = get(e.upstream, via)!;
      rows.push({
        group: "throughput",
        label: `${e.upstream.padEnd(7)} ${via === "direct" ? "direct" : `via ${via}`}`,
        metrics: {
          "req/s": { value: a.rps, unit: "" },
          p50: { value: a.p50, unit: "ms" },
          p99: { value: a.p99, unit: "ms" },
          "proxy CPU/req": { value: a.cpuUsPerReq, unit: "us" },
          errors: { value: a.errors, unit: "" },
        },
      });
    }
  }
  rows.push(
    {
      group: "memory",
      label: "paas router (1 node process)",
      metrics: {
        "RSS before": { value: kbToMb(memBefore.routerRssKb), unit: "MB" },
        "RSS after": { value: kbToMb(memAfter.routerRssKb), unit: "MB" },
        peak: { value: kbToMb(memAfter.routerPeakKb), unit: "MB" },
      },
    },
    {
      group: "memory",
      label: "bare node proxy",
      metrics: {
        "RSS before": { value: kbToMb(memBefore.nodeProxyRssKb), unit: "MB" },
        "RSS after": { value: kbToMb(memAfter.nodeProxyRssKb), unit: "MB" },
        peak: { value: kbToMb(memAfter.nodeProxyPeakKb), unit: "MB" },
      },
    },
    {
      group: "memory",
      label: "caddy (GOMAXPROCS=1)",
      metrics: {
        "RSS before": { value: kbToMb(memBefore.caddyRssKb), unit: "MB" },
        "RSS after": { value: kbToMb(memAfter.caddyRssKb), unit: "MB" },
        peak: {
          value:
            procStatusKb(caddy.child.pid, "VmHWM") === null
              ? null
              : kbToMb(procStatusKb(caddy.child.pid, "VmHWM")),
          unit: "MB",
        },
      },
    },
    {
      group: "memory",
      label: `nginx (master + ${memBefore.nginxProcesses - 1} worker)`,
      metrics: {
        "RSS before": { value: kbToMb(memBefore.nginxRssKb), unit: "MB" },
        "RSS after": { value: kbToMb(memAfter.nginxRssKb), unit: "MB" },
        peak: { value: null, unit: "MB" },
      },
    },
  );

  if (soak) {
    rows.push({
      group: "memory",
      label: `paas router, ${o.soakS}s soak`,
      metrics: {
        "RSS before": { value: kbToMb(soak.beforeKb), unit: "MB" },
        "RSS after": { value: kbToMb(soak.afterKb), unit: "MB" },
        peak: { value: kbToMb(procStatusKb(router.child.pid, "VmHWM")), unit: "MB" },
      },
    });
  }
  rows.push(
    {
      group: "route lookup",
      label: `${SMALL_TABLE} apps`,
      metrics: { "ns/lookup": { value: lookup.small, unit: "ns" } },
    },
    {
      group: "route lookup",
      label: `${LARGE_TABLE} apps`,
      metrics: { "ns/lookup": { value: lookup.large, unit: "ns" } },
    },
  );
  const ratios = routerRatios({
    get,
    lookup,
    rss: { routerAfterKb: memAfter.routerRssKb, nginxAfterKb: memAfter.nginxRssKb },
    soak,
  });

  const cores = os.cpus().length;
  notes.push(
    `fairness: the router is ONE Node process (at most one core); nginx runs worker_processes 1 and Caddy GOMAXPROCS=1 to match. ` +
      `wrk (-t${o.threads} -c${o.connections}), the proxy under test and the upstream share this ${cores}-core box, ` +
      `so req/s are CPU-contended; compare ratios, and "proxy CPU/req", which does not depend on scheduling.`,
    `nginx and Caddy write one access log line per request to a file (nginx "combined", Caddy JSON); the router ` +
      `writes a Heroku router line per request into the app's log stream in Redis (batched); the bare node proxy ` +
      `and router-nolog log nothing. router-2w counts the CPU of all its processes.`,
    `direct rows hit the upstream's port; busybox direct goes through docker-proxy on 127.0.0.1.`,
    `${o.rounds} round(s) of ${o.durationS}s per row, medians; load average after each round: ` +
      loads.map((l) => l.map((x) => x.toFixed(2)).join("/")).join(", "),
  );
  for (const e of endpoints) {
    for (const via of VIAS_FOR[e.upstream]) {
      const a = get(e.upstream, via)!;
      if (a.errors > 0)
        notes.push(`${e.upstream} ${via}: ${a.errors} errors or non-2xx answers out of ${a.requests}`);
    }
  }
  const nodeDirect = get("node", "direct")?.rps ?? 0;
  if (nodeDirect > 0 && (get("node", "nginx")?.rps ?? 0) > 0.9 * nodeDirect) {
    notes.push(
      "nginx is within 10% of direct: the upstream, not nginx, limits that row, which flatters the router ratio.",
    );
  }

  return {
    scenario: "router",
    rows,
    ratios,
    notes,
    raw: {
      namespace,
      ports: {
        router: router.port,
        routerNolog: routerNolog.port,
        router2w: router2w.port,
        router10k: router10k.port,
        caddy: caddy.port,
        nodeProxy: nodeProxy.port,
        nginx: nginxPort,
        upstreams: Object.fromEntries(endpoints.map((e) => [e.upstream, e.port])),
      },
      memory: { before: memBefore, after: memAfter },
      soak,
      lookup,
      samples,
      profiles,
    },
  };
}

export const routerScenario: Scenario = {
  name: "router",
  describe:
    "req/s and p50/p99 direct vs nginx vs caddy vs bare node proxy vs paas router (1 and 2 workers, 10 and 10,000 apps; wrk on loopback), " +
    "node:http upstream and a paas/busybox httpd container; CPU/request and RSS of the proxies",
  async available() {
    const missing = ["wrk", "nginx", "caddy"].filter((b) => which(b) === null);
    return missing.length > 0 ? `${missing.join(", ")} not installed (scripts/setup.sh installs them)` : null;
  },
  run: runRouterScenario,
};
