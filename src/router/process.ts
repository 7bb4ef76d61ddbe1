import os from "node:os";
import { Redis } from "ioredis";
import type { Settings } from "../config.js";
import { messageOf } from "../errors.js";
import type { Logger } from "../log.js";
import { logConnection } from "../store/connection-log.js";
import type { Store } from "../store/index.js";
import { RouterLinesStore } from "../store/router-lines.js";
import { RouterStatsStore } from "../store/router-stats.js";
import { lazySecretBox } from "../store/secret-box.js";
import { StreamAccessSink } from "./access-sink.js";
import { type Router, startRouter } from "./index.js";

/**
 * One router process's worth of router: its own pub/sub connection and route table, access
 * lines into the apps' log streams, counters published for /metrics. The same function runs
 * in the server process (PAAS_ROUTER_WORKERS=0) and in each worker process (workers.ts), so
 * whatever a router needs (listeners, certificates...) is wired here, once.
 */
export async function runRouterProcess(
  settings: Settings,
  store: Store,
  logger: Logger,
): Promise<{ router: Router; close(): Promise<void> }> {
  const log = logger.child("router");
  const subscriber = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  logConnection(subscriber, log, "route feed");
  let reported = 0;
  const lines = new RouterLinesStore(store.redis, store.keys, settings.logLines);
  const sink = new StreamAccessSink(lines, (err) => {
    // One line a minute at most: a Redis outage must not turn into a log flood.
    if (Date.now() - reported < 60_000) return;
    reported = Date.now();
    log(`access lines could not be written to the log stream: ${messageOf(err)}`);
  });
  const worker = `${os.hostname()}:${process.pid}`;
  // Certificate keys are sealed with the data dir's key, whoever opened this store.
  const secrets = lazySecretBox(settings.dataDir, settings);
  store.certs.useSecretBox(secrets);
  store.acme.useSecretBox(secrets);
  const stats = new RouterStatsStore(store.redis, store.keys);
  let router: Router;
  try {
    router = await startRouter({
      settings,
      routes: store.routes,
      subscriber,
      log: (msg) => log(msg),
      sink,
      stats: { store: stats, worker },
      errorPagesDir: settings.errorPagesDir,
      port: settings.httpPort,
      host: settings.bind,
      tls:
        settings.httpsPort === null
          ? undefined
          : { certs: store.certs, acme: store.acme, port: settings.httpsPort, http2: settings.http2 },
    });
  } catch (err) {
    subscriber.disconnect();
    throw err;
  }
  return {
    router,
    async close() {
      await router.close();
      await stats.remove(worker).catch(() => {});
      subscriber.disconnect();
    },
  };
}
