import type Docker from "dockerode";
import type { Settings } from "../config.js";
import type { AttachedStdio } from "../docker/containers.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedFilter } from "../docker/labels.js";
import { pullImage } from "../docker/pull.js";
import { invalid } from "../errors.js";
import type { AppName } from "../names.js";
import type { PluginHost } from "../plugins/host.js";
import type { Store } from "../store/index.js";
import { type Release, releaseTag } from "../store/releases.js";
import { limitsFor } from "../store/resources.js";
import { dynoName, ONEOFF_LABEL, type OneOffMode, type OneOffProcess, planOneOff } from "./oneoff-plan.js";
import { type ContainerExtras, connectExtraNetworks, containerExtras, prepareExtras } from "./plugin-env.js";
import { swarmNetworkName } from "./swarm/extras.js";
import { registryRepo } from "./swarm/registry.js";

export interface OneOffRequest {
  command: string;
  env?: Record<string, string>;
  /** Bytes; null or absent: the app's limit for the process type, or the platform default. */
  memory?: number | null;
  tty?: boolean;
  term?: string | null;
  mode: OneOffMode;
  process?: OneOffProcess;
  cronJob?: string;
  scheduledAt?: string;
  /** A platform service image to run instead of the release's (checked: paas.kind=service). */
  image?: string;
}

/** A created one-off container. */
export interface OneOff {
  id: string;
  app: string;
  dyno: string;
  release: string;
}

/** Finished detached and cron one-offs are kept this long, so `paas logs` still shows their output. */
export const KEEP_FINISHED_MS = 10 * 60_000;
/** A cron run is stopped after this long, as Dokku does. */
export const CRON_MAX_RUNTIME_MS = 24 * 3600_000;
/** An attached one-off whose session stopped renewing for this long has lost its client. */
const SESSION_TTL_S = 30;

/**
 * A swarm one-off's networks: the services' overlay (PAAS_SWARM_NETWORK, where the app's
 * `<app>-<type>` aliases resolve) as its own, and plugins' networks under their overlay
 * names (swarm/extras.ts), as the app's tasks have them.
 */
export function swarmOneOffExtras(extras: ContainerExtras, swarmNetwork: string): ContainerExtras {
  const plugin = extras.networks
    .map((n) => ({ ...n, name: swarmNetworkName(n.name), primary: false }))
    .filter((n) => n.name !== swarmNetwork);
  return { ...extras, networks: [{ name: swarmNetwork, aliases: [], primary: true }, ...plugin] };
}

/** The app's current release, or a clear error when there is nothing to run yet. */
export async function runnableRelease(store: Store, app: AppName): Promise<Release> {
  const record = await store.apps.require(app);
  const release = record.release ? await store.releases.get(app, record.release) : null;
  if (!release?.image)
    throw invalid(`${app} has no release to run yet: deploy it first with git push paas main`);
  return release;
}

/**
 * One-off containers of an app's current release (`paas run`, cron runs): the one door to
 * Docker for them. Composed once in server.ts; the websocket attach and the cron scheduler
 * use only this, so a multi-host scheduler can later route a call to the host that has the
 * container.
 */
export class OneOffs {
  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    /** Plugins answer `container-env` for one-offs too (storage, networks). */
    private readonly plugins?: PluginHost,
  ) {}

  /** The app's current release, or a clear error when there is nothing to run yet. */
  currentRelease(app: AppName): Promise<Release> {
    return runnableRelease(this.store, app);
  }

  /**
   * A one-off may run a platform service image (built by setup, labelled paas.kind=service:
   * psql in paas/postgres) with the app's config and networks; never another app's image.
   */
  private async serviceImage(image: string): Promise<string> {
    const info = await this.docker.images.inspect(image);
    const labels = info?.Config?.Labels ?? {};
    if (labels[LABEL.managed] !== "true" || labels[LABEL.kind] !== "service")
      throw invalid(
        `${image} is not a platform service image (paas.kind=service): a one-off runs only those or the release's`,
      );
    return image;
  }

  /** Create (not start) a one-off container of the current release. */
  async create(app: AppName, req: OneOffRequest, release?: Release): Promise<OneOff> {
    let rel = release ?? (await this.currentRelease(app));
    if (req.image) rel = { ...rel, image: await this.serviceImage(req.image) };
    const process = req.process ?? "run";
    const number = await this.store.runs.nextNumber(app);
    const limits = limitsFor(await this.store.resources.get(app), process, {
      memory: this.settings.defaultMemory,
    });
    if (this.settings.scheduler === "swarm" && !req.image)
      rel = { ...rel, image: await this.imageHere(app, rel) };
    const asked = await containerExtras(this.plugins, {
      app,
      type: process,
      index: number,
      kind: "oneoff",
      version: rel.version,
    });
    const extras =
      this.settings.scheduler === "swarm" ? swarmOneOffExtras(asked, this.settings.swarmNetwork) : asked;
    // Swarm: the overlays are the services' (made by a manager); only volumes are made here.
    const made = this.settings.scheduler === "swarm" ? { ...extras, networks: [] } : extras;
    await prepareExtras(this.docker, this.settings.namespace, app, made, rel.image);
    const spec = planOneOff({
      pidsLimit: this.settings.pidsLimit,
      plugin: extras,
      namespace: this.settings.namespace,
      app,
      release: rel,
      process,
      number,
      command: req.command,
      env: req.env ?? {},
      memory: req.memory ?? limits.memory,
      tty: req.tty ?? false,
      term: req.term,
      mode: req.mode,
      cronJob: req.cronJob,
      scheduledAt: req.scheduledAt,
    });
    const id = await this.docker.containers.create(spec);
    await connectExtraNetworks(this.docker, id, extras);
    return { id, app, dyno: dynoName(process, number), release: releaseTag(rel.version) };
  }

  /**
   * Swarm: the release's image on this engine (a node's worker runs the one-off on its own
   * engine): the local tag when this engine has it (the manager built it), else the release's
   * tag in PAAS_REGISTRY, pulled (services run it by digest; the tag names the same image).
   */
  private async imageHere(app: string, rel: Release): Promise<string> {
    const image = rel.image ?? "";
    if (await this.docker.images.inspect(image)) return image;
    const registry = this.settings.registry;
    if (!registry)
      throw invalid(
        `the release image ${image} is not on this node and this node's worker has no PAAS_REGISTRY to pull it from: set PAAS_REGISTRY for it`,
      );
    const ref = `${registryRepo(registry, this.settings.namespace, app)}:${releaseTag(rel.version)}`;
    const auth = this.settings.registryAuth
      ? { ...this.settings.registryAuth, serveraddress: registry }
      : undefined;
    if (!(await this.docker.images.inspect(ref))) await pullImage(this.docker.raw, ref, auth);
    return ref;
  }

  /** Attach to a created one-off's stdio; call before start so no output is lost. */
  attach(o: OneOff, tty: boolean): Promise<AttachedStdio> {
    return this.docker.containers.attach(o.id, tty);
  }

  start(o: OneOff): Promise<void> {
    return this.docker.containers.start(o.id);
  }

  resize(o: OneOff, cols: number, rows: number): Promise<void> {
    return this.docker.containers.resize(o.id, cols, rows);
  }

  /**
   * Mark an attached one-off as held by a live client until the returned function is
   * called; if the API process holding it dies, the reaper removes the container.
   */
  hold(o: OneOff): () => void {
    const touch = () => void this.store.runs.touchSession(o.id, SESSION_TTL_S).catch(() => {});
    touch();
    const timer = setInterval(touch, (SESSION_TTL_S * 1000) / 3);
    return () => {
      clearInterval(timer);
      void this.store.runs.endSession(o.id).catch(() => {});
    };
  }

  /** Resolves with the exit code once the command has ended. */
  wait(o: OneOff): Promise<number> {
    return this.docker.containers.wait(o.id);
  }

  /** Kill and remove at once (the command ended, or its client went away). */
  remove(o: Pick<OneOff, "id">): Promise<void> {
    return this.docker.containers.remove(o.id);
  }

  /** SIGTERM with the platform's grace, then remove (cron's replace policy). */
  async stop(o: Pick<OneOff, "id">): Promise<void> {
    await this.docker.containers.stop(o.id, this.settings.stopTimeout);
    await this.docker.containers.remove(o.id);
  }

  /** Running one-offs of an app, optionally of one scheduled job. */
  async running(app: string, cronJob?: string): Promise<Docker.ContainerInfo[]> {
    const extra = [`${LABEL.kind}=oneoff`];
    if (cronJob) extra.push(`${ONEOFF_LABEL.cronJob}=${cronJob}`);
    const list = await this.docker.containers.list(ownedFilter(this.settings.namespace, app, extra), false);
    return list.filter((c) => c.State === "running");
  }

  /**
   * Remove what no one will remove: attached one-offs whose API process died (finished,
   * or running without a session), cron runs past CRON_MAX_RUNTIME_MS, finished detached
   * and cron ones once their output has been kept for KEEP_FINISHED_MS. Release-phase
   * containers (no one-off mode label) are their deploy's business.
   */
  async reap(now = Date.now()): Promise<number> {
    const all = await this.docker.containers.list(
      ownedFilter(this.settings.namespace, undefined, [`${LABEL.kind}=oneoff`]),
    );
    let removed = 0;
    for (const c of all) {
      const mode = c.Labels[ONEOFF_LABEL.mode];
      if (!mode) continue;
      const age = now - c.Created * 1000;
      if (c.State === "running" || c.State === "restarting") {
        const orphan = mode === "attached" && age > 60_000 && !(await this.store.runs.sessionAlive(c.Id));
        if (!orphan && !(mode === "cron" && age > CRON_MAX_RUNTIME_MS)) continue;
        await this.stop({ id: c.Id });
        removed++;
        continue;
      }
      if (c.State === "created" && age < 60_000) continue;
      if (mode !== "attached") {
        const info = await this.docker.containers.inspect(c.Id);
        const finished = Date.parse(info?.State.FinishedAt ?? "");
        if (Number.isFinite(finished) && finished > 0 && now - finished < KEEP_FINISHED_MS) continue;
      }
      await this.docker.containers.remove(c.Id);
      removed++;
    }
    return removed;
  }
}
