import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { invalid } from "../errors.js";
import type { Logger } from "../log.js";
import type { Formation } from "../store/formation.js";
import type { Store } from "../store/index.js";
import type { Release } from "../store/releases.js";
import { Deployer, type DeployOptions } from "./deploy.js";
import type { Slot } from "./plan.js";
import { Reconciler } from "./reconcile.js";
import type { ProcessInfo, Runtime } from "./runtime.js";
import type { ClusterOp } from "./swarm/nodes.js";
import { SwarmScheduler } from "./swarm/scheduler.js";

type Log = (line: string) => void;

/**
 * What a release needs from whatever runs its processes. Every change goes through one of
 * these under the app's lock (release.ts, operations.ts); the API only reads (ps, logs).
 * `docker` runs containers on this engine (deploy.ts, runtime.ts, reconcile.ts);
 * `swarm` runs one Swarm service per process type (swarm/). A Kubernetes scheduler would
 * be a third implementation (README: "Schedulers").
 */
export interface Scheduler {
  readonly kind: Settings["scheduler"];
  /** Put a release's formation live, zero-downtime, gated by its checks; throws DeployFailed. */
  deploy(app: string, release: Release, formation: Formation, log: Log, opts: DeployOptions): Promise<void>;
  /** Change how many of each type run (the release stays). */
  scale(app: string, release: Release, formation: Formation, log: Log): Promise<void>;
  /** Stop one process (web.2) until the next change. */
  stopOne(app: string, release: Release, slot: Slot): Promise<void>;
  /** What runs, one line per process (with its node in swarm mode). */
  ps(app: string): Promise<ProcessInfo[]>;
  logs(app: string, lines: number): Promise<string[]>;
  follow(app: string, onLine: (line: string) => void): Promise<() => void>;
  /** Remove everything of the app that runs, and its images. */
  destroy(app: string): Promise<void>;
  /** Start the background pass that brings what runs back to the formation; returns its stop. */
  startReconcile(): () => Promise<void>;
  /** The cluster's nodes (paas nodes, nodes:drain, ...): swarm only. */
  cluster(op: ClusterOp): Promise<unknown>;
  /** Forget timers (shutdown). */
  close(): void;
}

/** Today's scheduler: containers on one engine. A thin wrapper; the work is in deploy.ts and friends. */
export class DockerScheduler implements Scheduler {
  readonly kind = "docker" as const;
  readonly deployer: Deployer;

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    readonly runtime: Runtime,
    private readonly logger: Logger,
  ) {
    this.deployer = new Deployer(settings, store, docker, runtime, logger.child("deploy"));
  }

  deploy(app: string, release: Release, formation: Formation, log: Log, opts: DeployOptions) {
    return this.deployer.deploy(app, release, formation, log, opts);
  }
  scale(app: string, release: Release, formation: Formation, log: Log) {
    return this.deployer.scale(app, release, formation, log);
  }
  stopOne(app: string, release: Release, slot: Slot) {
    return this.deployer.stopOne(app, release, slot);
  }
  ps(app: string) {
    return this.runtime.ps(app);
  }
  logs(app: string, lines: number) {
    return this.runtime.logs(app, lines);
  }
  follow(app: string, onLine: (line: string) => void) {
    return this.runtime.follow(app, onLine);
  }
  destroy(app: string) {
    return this.runtime.destroy(app);
  }
  startReconcile(): () => Promise<void> {
    const reconciler = new Reconciler(
      this.settings,
      this.store,
      this.docker,
      this.runtime,
      this.logger.child("reconcile"),
    );
    reconciler.start();
    return () => reconciler.stop();
  }
  async cluster(_op: ClusterOp): Promise<unknown> {
    throw invalid("this platform runs apps on one Docker engine: nodes need PAAS_SCHEDULER=swarm");
  }
  close(): void {
    this.deployer.close();
  }
}

/** PAAS_SCHEDULER picks one, composed once in server.ts. */
export function createScheduler(
  settings: Settings,
  store: Store,
  docker: DockerParts,
  runtime: Runtime,
  logger: Logger,
): Scheduler {
  return settings.scheduler === "swarm"
    ? new SwarmScheduler(settings, store, docker, runtime, logger)
    : new DockerScheduler(settings, store, docker, runtime, logger);
}
