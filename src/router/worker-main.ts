import { loadSettings } from "../config.js";
import { messageOf } from "../errors.js";
import { createLogger } from "../log.js";
import { logConnection } from "../store/connection-log.js";
import { openStore } from "../store/index.js";
import { runRouterProcess } from "./process.js";
import type { WorkerMessage } from "./workers.js";

// Entry point of one router worker process (forked by workers.ts through node:cluster).
// Settings come from the same PAAS_* environment the server read; the listening socket is
// shared through the cluster. Stops when the server asks (draining requests in flight), or
// when the server process goes away (the IPC channel closes).

async function main(): Promise<void> {
  const settings = loadSettings(process.env);
  const logger = createLogger(settings.logLevel);
  const store = openStore(settings.redisUrl, settings.namespace, { logLines: settings.logLines });
  logConnection(store.redis, logger.child("router"), "state");
  const running = await runRouterProcess(settings, store, logger);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 20_000).unref();
    running
      .close()
      .catch(() => {})
      .finally(() => {
        store.redis.disconnect();
        process.exit(0);
      });
  };
  process.on("message", (m: WorkerMessage) => {
    if (m?.type === "paas-router-stop") stop();
  });
  process.on("disconnect", stop);
  // The server handles Ctrl-C for the whole group: a worker waits to be told.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", stop);
  process.send?.({ type: "paas-router-ready", port: running.router.port } satisfies WorkerMessage);
}

main().catch((err) => {
  process.stderr.write(`error: router worker: ${messageOf(err)}\n`);
  process.exit(1);
});
