import { Redis } from "ioredis";
import { loadSettings } from "../src/config.js";
import { messageOf } from "../src/errors.js";
import { createLogger } from "../src/log.js";
import { startRouter } from "../src/router/index.js";
import { storeOver } from "../src/store/index.js";
import { exitWhenParentGoes } from "./util.js";

// The paas router in a process of its own, so the harness and wrk do not share its event
// loop: routes come from a real Redis through RoutesStore, exactly as `paas server
// --roles router` reads them. Prints `READY {"port":N}` once listening.
//
// Env: PAAS_REDIS_URL, PAAS_NAMESPACE, PAAS_DOMAIN (as the platform reads them), and
// PAAS_BENCH_ACCESS_LOG=on|off: "on" (default) logs every request to stderr through the
// platform logger, as the server does; the harness points stderr at a file.

async function main(): Promise<void> {
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
  const log = accessLog ? createLogger(settings.logLevel).child("router") : () => {};

  const router = await startRouter({
    settings,
    routes: store.routes,
    subscriber,
    log,
    port: 0,
    host: "127.0.0.1",
    drainMs: 1_000,
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 3_000).unref();
    router
      .close()
      .catch(() => {})
      .finally(() => {
        redis.disconnect();
        subscriber.disconnect();
        process.exit(0);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  exitWhenParentGoes(stop);
  process.stdout.write(`READY ${JSON.stringify({ port: router.port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`router-child: ${messageOf(err)}\n`);
  process.exit(1);
});
