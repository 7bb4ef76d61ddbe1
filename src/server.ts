import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { apiRouter } from "./api/app.js";
import { dashboardRouter } from "./api/dashboard/index.js";
import { metricsHandler } from "./api/metrics.js";
import { requirePolicy } from "./api/route-policy.js";
import { attachRunSockets } from "./api/run-socket.js";
import type { Services } from "./api/services.js";
import { storeErrors, storeGate } from "./api/store-gate.js";
import { authorizeUser } from "./auth/decide.js";
import { ensureAdminToken, requireAuth } from "./auth.js";
import { buildpacksBuilder } from "./builder/buildpacks/index.js";
import { dockerfileBuilder } from "./builder/dockerfile.js";
import { pipelineRunner } from "./builder/pipeline.js";
import { BuildQueue } from "./builder/queue.js";
import { stackInfo } from "./builder/stack.js";
import type { Builder } from "./builder/types.js";
import { startBuildWorker, type WorkerHandle } from "./builder/worker.js";
import { loadSettings, type Role, type Settings } from "./config.js";
import { connectDocker } from "./docker/index.js";
import { messageOf } from "./errors.js";
import { gitRouter } from "./git/http.js";
import { Repos } from "./git/repos.js";
import { startSshRole } from "./git/ssh.js";
import { createLogger } from "./log.js";
import { startLogs } from "./logs/index.js";
import { createPluginHost } from "./plugins/index.js";
import { startTlsRole } from "./router/tls-role.js";
import { startRouterRole } from "./router/workers.js";
import { CronScheduler } from "./runtime/cron.js";
import { HealthMonitor } from "./runtime/health-monitor.js";
import { OneOffs } from "./runtime/oneoff.js";
import { RunRelayWorker } from "./runtime/run-relay/node-worker.js";
import { RelayRunner } from "./runtime/run-relay/relay-runner.js";
import { LocalRunner } from "./runtime/run-relay/runner.js";
import { Runtime } from "./runtime/runtime.js";
import { createScheduler } from "./runtime/scheduler.js";
import { SwarmHealthMonitor } from "./runtime/swarm/health.js";
import { NodeRestarter } from "./runtime/swarm/node-restarts.js";
import { onOverlay } from "./runtime/swarm/overlay-reach.js";
import { SwarmScheduler } from "./runtime/swarm/scheduler.js";
import { logConnection } from "./store/connection-log.js";
import { watchStore } from "./store/health.js";
import { openStore } from "./store/index.js";
import { loadKeyring } from "./store/secret-box.js";
import { checkKeyring, resealAll, useKeyring } from "./store/secrets.js";

export interface RunningServer {
  settings: Settings;
  apiPort: number | null;
  routerPort: number | null;
  /** SSH git port; null without the git role or with PAAS_SSH_PORT=off. */
  sshPort: number | null;
  /** Where the admin token is; null without the api and git roles (they issue and check it). */
  adminTokenFile: string | null;
  close(): Promise<void>;
}

/** Start the roles this process runs; everything is composed here, once. */
export async function startServer(
  env: Record<string, string | undefined> = process.env,
  overrides: { roles?: Role[] } = {},
): Promise<RunningServer> {
  const settings = loadSettings(env);
  if (overrides.roles) settings.roles = overrides.roles;
  const logger = createLogger(settings.logLevel);
  const log = logger.child("server");
  fs.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });

  const store = openStore(settings.redisUrl, settings.namespace, {
    logLines: settings.logLines,
    dataDir: settings.dataDir,
    authFailures: { limit: settings.authFailureLimit, windowSeconds: settings.authFailureWindow },
  });
  logConnection(store.redis, log, "state");
  try {
    await store.redis.ping();
  } catch (err) {
    store.redis.disconnect();
    throw new Error(
      `cannot reach Redis at ${settings.redisUrl} (${messageOf(err)}): run \`npm run setup\` or set PAAS_REDIS_URL`,
    );
  }
  // Secrets at rest: one keyring (PAAS_SECRET_KEY, else the data dir's key), the platform's.
  const keyring = loadKeyring(settings.dataDir, settings);
  useKeyring(store, keyring);
  try {
    await checkKeyring(store, keyring);
  } catch (err) {
    store.redis.disconnect();
    throw err;
  }
  // A Redis that hangs without closing the connection counts as unreachable too.
  watchStore(store.redis, {
    onHung: () => log("redis stopped answering: reconnecting", { connection: "state" }),
  });
  const docker = connectDocker();
  // The plugins as this process's runtime sees them (with Docker): container-env, deploy triggers.
  const plugins = createPluginHost(settings, store, { docker, log: logger.child("plugins") });
  const runtime = new Runtime(settings, docker, plugins);
  // The scheduler (PAAS_SCHEDULER: docker or swarm) deploys, scales, restarts and lists processes.
  const deployer = createScheduler(settings, store, docker, runtime, logger);
  const oneOffs = new OneOffs(settings, store, docker, plugins);
  // `paas run` for the API: on this engine, or (swarm) through the worker of the node it is placed on.
  const runner =
    settings.scheduler === "swarm" ? new RelayRunner(store, logger.child("run")) : new LocalRunner(oneOffs);
  const queue = new BuildQueue(store, settings.redisUrl, logger.child("queue"));
  const repos = new Repos(settings.dataDir);
  const has = (r: Role) => settings.roles.includes(r);
  // Only where tokens are checked: a worker on another host (another data dir) must not
  // issue a new admin token and so revoke the operator's.
  const adminTokenFile =
    has("api") || has("git") ? (await ensureAdminToken(store, settings.dataDir)).file : null;
  // Every app's log stream: the collector and drains run with the worker role (one per engine).
  const logs = startLogs({ settings, store, docker, logger, worker: has("worker") });
  // Stopping order: no new background work, then finish builds in flight (their pushers get
  // their outcome), then the API (bounded), and the router last so apps stay reachable.
  const closers: (() => Promise<void>)[] = [];

  let worker: WorkerHandle | null = null;
  // Swarm: builds, deploys, reconcile and cron need a manager's engine. A worker on a swarm
  // worker node runs only that node's collector (logs and stats, started above).
  // A worker on a manager's engine must also be on the overlay (in a container attached to
  // it): deploy checks reach the tasks there, and one that cannot would take builds and fail
  // every deploy. (null: the overlay does not exist yet, nobody is on it.)
  const isManager = settings.scheduler !== "swarm" || (await docker.services.isManager().catch(() => true));
  const reachesTasks =
    settings.scheduler !== "swarm" ||
    !isManager ||
    (await onOverlay(docker, settings.swarmNetwork).catch(() => null)) !== false;
  const manages = isManager && reachesTasks;
  if (has("worker") && !isManager)
    logger.child("swarm")("this engine is not a swarm manager: collecting its logs and stats only");
  else if (has("worker") && !manages)
    logger.child("swarm")(
      `this worker is not on the overlay network ${settings.swarmNetwork}, so deploy checks could not reach the tasks: it takes no builds, deploys, reconcile or cron (it collects logs and stats, runs one-offs and liveness restarts for its node); run it in a container attached to ${settings.swarmNetwork} to take them`,
      { level: "warn" },
    );
  // Swarm: every node's worker restarts its own node's tasks that failed liveness.
  if (has("worker") && settings.scheduler === "swarm") {
    const restarter = new NodeRestarter(store, docker, logger.child("liveness"), logs.events);
    restarter.start();
    closers.unshift(() => restarter.stop());
  }
  // Swarm: every node's worker takes the one-offs (`paas run`) placed on its node.
  if (has("worker") && settings.scheduler === "swarm") {
    const runs = new RunRelayWorker(settings, store, docker, oneOffs, logger.child("run"));
    runs.start();
    closers.unshift(() => runs.stop());
  }
  if (has("worker") && manages) {
    // Tried in order: a Dockerfile wins; buildpacks are the catch-all (per-app override aside).
    const builders: Builder[] = [dockerfileBuilder, buildpacksBuilder];
    const run = pipelineRunner({
      settings,
      store,
      runtime,
      deployer,
      docker,
      builders,
      events: logs.events,
      plugins,
    });
    worker = startBuildWorker({ settings, store, run }, logger.child("build"));
    closers.push(() => worker!.close());
    closers.unshift(deployer.startReconcile());
    // app.json liveness and readiness checks of running containers, or of swarm tasks.
    if (settings.scheduler === "docker") {
      const health = new HealthMonitor(settings, store, docker, logger.child("health"), logs.events);
      health.start();
      closers.unshift(async () => health.stop());
    } else if (deployer instanceof SwarmScheduler) {
      // Swarm tasks: probed on the overlay; liveness restarts go to the task's node's worker.
      const health = new SwarmHealthMonitor(
        settings,
        store,
        docker,
        deployer,
        logger.child("health"),
        logs.events,
      );
      health.start();
      closers.unshift(async () => health.stop());
    }
    const cron = new CronScheduler(store, oneOffs, logger.child("cron"));
    cron.start();
    closers.unshift(() => cron.stop());
  }

  let apiPort: number | null = null;
  let sshPort: number | null = null;
  if (has("api") || has("git")) {
    const app = express();
    app.disable("x-powered-by");
    // Redis unreachable: every API, git and dashboard request gets 503 and one line at once.
    app.use(storeGate(store.redis, settings.redisUrl));
    const hookSecret = crypto.randomBytes(24).toString("hex");
    if (has("git")) {
      app.use(
        gitRouter({
          settings,
          store,
          repos,
          queue,
          hookSecret,
          hookUrl: () => `http://${loopbackFor(settings.bind)}:${apiPort}/internal/push`,
          log: logger.child("git"),
        }),
      );
    }
    if (has("api")) {
      const services: Services = {
        settings,
        store,
        // Reads only: changes to what runs go through the queue to a worker.
        reader: {
          ps: (app) => deployer.ps(app),
          logs: (app, lines) => deployer.logs(app, lines),
          follow: (app, onLine) => deployer.follow(app, onLine),
          stack: () => stackInfo(docker, settings),
        },
        queue,
        repos,
        runner,
        log: logger.child("api"),
        events: logs.events,
        // No Docker here: plugin commands that change what runs go through the queue.
        plugins: createPluginHost(settings, store, { log: logger.child("plugins") }),
      };
      app.use(apiRouter(services));
      // Values from before sealing (or under an older key) are sealed now, in the background.
      void resealAll(store, keyring).then(
        (r) => r.resealed > 0 && log("secrets sealed at rest", { values: r.resealed, key: r.currentKey }),
        (err) => log("sealing secrets at rest failed", { error: messageOf(err) }),
      );
      // Prometheus text, summed over every router process: admins only.
      app.get("/metrics", requireAuth(store, "api"), requirePolicy(services, "admin"), metricsHandler(store));
      app.use("/dashboard", dashboardRouter({ ...services, log: logger.child("dashboard") }));
    }
    app.get("/", (_req, res) => {
      res
        .type("text/plain")
        .send("paas: REST API at /api/v1 (token required), web dashboard at /dashboard\n");
    });
    // Git and dashboard errors that mean Redis went away mid-request: the same 503 line.
    app.use(storeErrors(settings.redisUrl));
    const server = http.createServer(app);
    // Pushes wait for whole deploys: no idle timeout on those requests.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    // `paas run` attaches over a websocket upgrade on /api/v1 (token checked there).
    const runSockets = has("api")
      ? attachRunSockets(server, { store, runner, log: logger.child("run"), redisUrl: settings.redisUrl })
      : null;
    await listen(server, settings.apiPort, settings.bind);
    apiPort = (server.address() as AddressInfo).port;
    const ssh = has("git")
      ? await startSshRole({
          settings,
          store,
          repos,
          hookSecret,
          hookUrl: () => `http://${loopbackFor(settings.bind)}:${apiPort}/internal/push`,
          // The one policy: the key's owner must be allowed git:push / git:fetch on the app.
          authorize: (user, action, app) => authorizeUser(store, user, action, app),
          log: logger.child("ssh"),
        })
      : null;
    sshPort = ssh?.port ?? null;
    if (ssh) closers.push(() => ssh.close());
    closers.push(async () => {
      await runSockets?.close();
      await closeServer(server);
    });
  }

  let routerPort: number | null = null;
  if (has("router")) {
    // PAAS_ROUTER_WORKERS processes (or this one, with 0): router/workers.ts.
    const router = await startRouterRole(settings, store, logger);
    routerPort = router.port;
    closers.push(() => router.close());
    // The default certificate from PAAS_TLS_CERT and the ACME renewer: once per server.
    const tlsRole = await startTlsRole(settings, store, logger);
    closers.unshift(() => tlsRole.close());
  }

  return {
    settings,
    apiPort,
    sshPort,
    routerPort,
    adminTokenFile,
    async close() {
      for (const c of closers)
        await c().catch((err) => log("stopping: a part failed to stop", { error: messageOf(err) }));
      await logs.close().catch(() => {});
      await queue.close().catch(() => {});
      store.redis.disconnect();
    },
  };
}

function loopbackFor(bind: string): string {
  return bind === "0.0.0.0" || bind === "::" || bind === "localhost" ? "127.0.0.1" : bind;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`port ${port} on ${host} is in use: stop what uses it or set PAAS_API_PORT`)
          : err,
      );
    });
    server.listen(port, host, () => resolve());
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Long-lived requests (log tails, pushes) get a bounded time to finish.
    setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, 10_000).unref();
    server.closeIdleConnections();
  });
}

/** `paas server`: start, print where things are, stop cleanly on SIGTERM/SIGINT. */
export async function runServer(opts: { roles?: string[] } = {}): Promise<void> {
  const env = { ...process.env };
  if (opts.roles && opts.roles.length > 0) env.PAAS_ROLES = opts.roles.join(",");
  const s = await startServer(env);
  const host = s.settings.bind;
  const out = (l: string) => process.stdout.write(`${l}\n`);
  out(`paas is running (roles: ${s.settings.roles.join(", ")})`);
  if (s.apiPort !== null) out(`  API and git:  ${s.settings.apiUrl}  (listening on ${host}:${s.apiPort})`);
  if (s.sshPort !== null) out(`  SSH git:      ssh://git@${host}:${s.sshPort}/<app>.git`);
  if (s.routerPort !== null)
    out(`  router:       http://<app>.${s.settings.domain}:${s.routerPort}  (listening on ${host})`);
  if (s.routerPort !== null && s.settings.httpsPort)
    out(
      `                https://<app>.${s.settings.domain}:${s.settings.httpsPort}  (certificates: paas certs)`,
    );
  if (s.adminTokenFile === null) return stopOnSignals(s, out);
  out(`  admin token:  ${s.adminTokenFile}`);
  out("");
  out("Next:");
  out(`  paas login --api ${s.settings.apiUrl} --token $(cat ${s.adminTokenFile})`);
  out("  cd your-app && paas apps:create");
  out("  git push paas main");
  stopOnSignals(s, out);
}

/** Stop cleanly on SIGTERM/SIGINT: finish in-flight work first. */
function stopOnSignals(s: RunningServer, out: (l: string) => void): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    out(`received ${signal}: finishing in-flight work and stopping`);
    await s.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
