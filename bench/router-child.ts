import cluster from "node:cluster";
import os from "node:os";
import { Redis } from "ioredis";
import { loadSettings } from "../src/config.js";
import { messageOf } from "../src/errors.js";
import { type AccessSink, StreamAccessSink, startRouter } from "../src/router/index.js";
import { storeOver } from "../src/store/index.js";
import { RouterLinesStore } from "../src/store/router-lines.js";
import { RouterStatsStore } from "../src/store/router-stats.js";
import { exitWhenParentGoes } from "./util.js";

// The paas router in a process of its own (or several: PAAS_BENCH_WORKERS=N runs N
// node:cluster workers sharing the port, as PAAS_ROUTER_WORKERS does), so the harness and
// wrk do not share its event loop. Routes come from a real Redis through RoutesStore, the
// access line goes into each app's log stream in Redis (batched, as `paas server` does), the
// counters are published for /metrics every 5 s. Prints `READY {"port":N}` once listening.
//
// Env: PAAS_REDIS_URL, PAAS_NAMESPACE, PAAS_DOMAIN (as the platform reads them),
// PAAS_BENCH_ACCESS_LOG=on|off ("off": no access line at all), PAAS_BENCH_WORKERS=N.

type Ready = { type: "ready"; port: number };

async function runRouter(port: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const settings = loadSettings({
    PAAS_REDIS_URL: process.env.PAAS_REDIS_URL,
    PAAS_NAMESPACE: process.env.PAAS_NAMESPACE,
    PAAS_DOMAIN: process.env.PAAS_DOMAIN,
    PAAS_LOG_LEVEL: "info",
  });
  const accessLog = (process.env.PAAS_BENCH_ACCESS_LOG ?? "on") !== "off";
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const store = storeOver(redis, settings.namespace);
  const sink: AccessSink | undefined = accessLog
    ? new StreamAccessSink(new RouterLinesStore(redis, store.keys, store.logs.cap), (err) =>
        process.stderr.write(`access sink: ${messageOf(err)}\n`),
      )
    : undefined;
  const router = await startRouter({
    settings,
    routes: store.routes,
    subscriber,
    sink,
    stats: { store: new RouterStatsStore(redis, store.keys), worker: `${os.hostname()}:${process.pid}` },
    port,
    host: "127.0.0.1",
    drainMs: 1_000,
  });
  return {
    port: router.port,
    stop: async () => {
      await router.close().catch(() => {});
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const workers = Number(process.env.PAAS_BENCH_WORKERS ?? 1);
  if (cluster.isWorker) {
    const r = await runRouter(0);
    process.on("disconnect", () => void r.stop().finally(() => process.exit(0)));
    process.send?.({ type: "ready", port: r.port } satisfies Ready);
    return;
  }
  let stopping = false;
  let stopRouter: () => Promise<void> = async () => {};
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 3_000).unref();
    stopRouter().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  exitWhenParentGoes(stop);
  let port: number;
  if (workers <= 1) {
    const r = await runRouter(0);
    stopRouter = r.stop;
    port = r.port;
  } else {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const fork = (env: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const w = cluster.fork(env);
        w.on("message", (m: Ready) => m?.type === "ready" && resolve(m.port));
        w.on("exit", (code) => reject(new Error(`router worker exited with ${code}`)));
      });
    // Every worker listens on port 0: the cluster gives them all the same socket.
    port = await fork({});
    for (let i = 1; i < workers; i++) await fork({});
    stopRouter = async () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.disconnect();
      await new Promise((r) => setTimeout(r, 1_500));
    };
  }
  process.stdout.write(`READY ${JSON.stringify({ port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`router-child: ${messageOf(err)}\n`);
  process.exit(1);
});
