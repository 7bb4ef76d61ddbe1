import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { Settings } from "../config.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import { runRouterProcess } from "./process.js";

// PAAS_ROUTER_WORKERS router processes (node:cluster) sharing the router's listening
// sockets: the server process forks them, and each worker accepts connections from the
// shared socket itself (SCHED_NONE: the kernel spreads them; round robin through the server
// process would cost an IPC hop per connection, and a connection handed to a worker as it
// is killed would hang). Each worker keeps its own route table from the change feed
// and its own pool to the apps; a worker that dies is started again (with a growing delay
// if it keeps dying early); close() asks each to drain and stop. With 0 the router runs
// inside the server process itself.

/** Messages between the server process and a router worker (worker-main.ts). */
export type WorkerMessage = { type: "paas-router-ready"; port: number } | { type: "paas-router-stop" };

export interface RouterRole {
  port: number;
  close(): Promise<void>;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
/** A worker that lived this long was healthy: its replacement starts without delay growth. */
const HEALTHY_MS = 10_000;
const STOP_GRACE_MS = 15_000;

export async function startRouterRole(settings: Settings, store: Store, logger: Logger): Promise<RouterRole> {
  if (settings.routerWorkers === 0) {
    const inProcess = await runRouterProcess(settings, store, logger);
    return { port: inProcess.router.port, close: () => inProcess.close() };
  }
  return startWorkers(settings.routerWorkers, logger);
}

async function startWorkers(count: number, logger: Logger): Promise<RouterRole> {
  const log = logger.child("router");
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: fileURLToPath(new URL("./worker-main.js", import.meta.url)), args: [] });
  const workers = new Set<Worker>();
  let stopping = false;
  let delay = FIRST_DELAY_MS;
  let port = 0;

  const fork = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      // Settings travel as the environment (PAAS_*), read again by the worker. Every worker
      // asks for the same address and port (even 0): the cluster hands them the same socket.
      const worker = cluster.fork();
      workers.add(worker);
      let ready = false;
      worker.on("message", (m: WorkerMessage) => {
        if (m?.type !== "paas-router-ready") return;
        ready = true;
        resolve(m.port);
      });
      worker.on("exit", (code, signal) => {
        workers.delete(worker);
        if (!ready) {
          reject(
            new Error(
              `router worker exited before listening (${signal ?? `code ${code}`}); see its error above`,
            ),
          );
        }
        if (stopping || !ready) return;
        delay = Date.now() - started > HEALTHY_MS ? FIRST_DELAY_MS : Math.min(delay * 2, MAX_DELAY_MS);
        log(
          `router worker ${worker.process.pid} died (${signal ?? `code ${code}`}); starting another in ${delay}ms`,
        );
        setTimeout(() => {
          if (!stopping) fork().catch((err) => log(`router worker restart failed: ${err.message}`));
        }, delay).unref();
      });
    });

  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill("SIGKILL"), STOP_GRACE_MS);
            w.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            w.send({ type: "paas-router-stop" } satisfies WorkerMessage, (err: Error | null) => {
              if (err) w.process.kill("SIGTERM");
            });
          }),
      ),
    );
  };

  try {
    port = await fork();
    await Promise.all(Array.from({ length: count - 1 }, () => fork()));
  } catch (err) {
    await stopAll();
    throw err;
  }
  log(`${count} router worker${count === 1 ? "" : "s"} listening on port ${port}`, { workers: count, port });
  return { port, close: stopAll };
}
