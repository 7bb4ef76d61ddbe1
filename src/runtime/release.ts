import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { invalid } from "../errors.js";
import type { EventSink } from "../logs/writer.js";
import type { AppName } from "../names.js";
import type { PluginHost } from "../plugins/host.js";
import type { Store } from "../store/index.js";
import { type Release, releaseTag, saveRelease } from "../store/releases.js";
import { formationForRelease } from "./formation-apply.js";
import { gcImages } from "./gc.js";
import { runPhaseScript } from "./phase-script.js";
import type { Runtime } from "./runtime.js";
import type { Scheduler } from "./scheduler.js";

export interface ReleaseDeps {
  settings: Settings;
  store: Store;
  runtime: Runtime;
  /** The scheduler (docker or swarm): every change to what runs goes through it. */
  deployer: Scheduler;
  docker: DockerParts;
  /** `paas[api]` lines in the app's log stream. */
  events?: EventSink;
  /** The worker's plugin host: fires the trigger catalog (absent: no plugins). */
  plugins?: PluginHost;
}

export function appUrl(settings: Settings, app: string): string {
  const port = settings.httpPort === 80 ? "" : `:${settings.httpPort}`;
  return `http://${app}.${settings.domain}${port}`;
}

/**
 * Put a release live: deploy it under the app's lock, then record it as current. A failed
 * deploy marks the release failed and leaves the previous one serving.
 */
export async function releaseLive(
  deps: ReleaseDeps,
  app: AppName,
  release: Release,
  log: (line: string) => void,
  onLive?: () => Promise<void> | void,
) {
  const { store } = deps;
  let live: Release | null = null;
  try {
    await store.lock.withLock(app, async () => {
      // Veto-able, before anything changes: a "no" rejects the push and the old release keeps serving.
      const facts = { app, version: release.version, image: release.image ?? "" };
      await deps.plugins?.fire("pre-release", { ...facts, description: release.description }, log);
      await deps.plugins?.fire("pre-deploy", { ...facts, config: release.config }, log);
      const firstDeploy = (await store.apps.require(app)).release === 0;
      const { formation, explicit } = await formationForRelease(store, app, release, log);
      await deps.deployer.deploy(app, release, formation, log, {
        releasePhase: true,
        onLive: async () => {
          if (firstDeploy) await postdeployOnce(deps, app, release, log);
          await store.formation.set(app, formation);
          await store.formation.setExplicit(app, explicit);
          live = { ...release, formation, status: "succeeded" };
          await saveRelease(store, app, live);
          await store.apps.setCurrentRelease(app, release.version);
          log(`-----> Released ${releaseTag(release.version)}`);
          const image = release.image ?? "";
          await deps.plugins?.fire("post-release", { app, version: release.version, image }, log);
          await deps.plugins?.fire("post-deploy", { app, version: release.version, image, formation }, log);
          const what = release.description.startsWith("Deploy ") && release.user ? " by " + release.user : "";
          deps.events?.emit(app, "api", `${release.description}${what}`);
          deps.events?.emit(app, "api", `Release ${releaseTag(release.version)} created`);
          await onLive?.();
        },
      });
    });
  } catch (err) {
    if (!live) await saveRelease(store, app, { ...release, status: "failed" });
    throw err;
  }
  await gcImages(deps, app, log).catch((err) => log(` !     could not remove old images: ${String(err)}`));
  return live ?? release;
}

/**
 * app.json scripts.postdeploy runs once, after the app's first deploy is live (Heroku's and
 * Dokku's meaning), never again, even if it fails; a failure is reported, the release stays.
 */
async function postdeployOnce(
  deps: ReleaseDeps,
  app: AppName,
  release: Release,
  log: (line: string) => void,
) {
  const command = release.appJson?.scripts.postdeployOnce;
  if (!command || !(await deps.store.apps.claimPostdeployOnce(app))) return;
  log(`-----> Running postdeploy script (first deploy only): ${command}`);
  const result = await runPhaseScript(deps, app, release, "postdeploy", command, log);
  if (result.exitCode !== 0)
    log(` !     postdeploy script failed with exit code ${result.exitCode} (the release is live)`);
}

/** The app's current release, or a clear error when there is none yet. */
export async function currentRelease(store: Store, app: AppName): Promise<Release> {
  const record = await store.apps.require(app);
  const current = record.release ? await store.releases.get(app, record.release) : null;
  if (!current?.image)
    throw invalid(`app "${app}" has no release yet: deploy it first with git push paas main`);
  return current;
}

/** A new release of the current image with the app's current config (config change, restart). */
export async function rerelease(
  deps: ReleaseDeps,
  app: AppName,
  description: string,
  user: string,
  log: (line: string) => void,
  buildId?: string,
  onLive?: () => Promise<void> | void,
): Promise<Release | null> {
  const record = await deps.store.apps.require(app);
  if (record.release === 0) return null;
  const current = await currentRelease(deps.store, app);
  const config = await deps.store.config.get(app);
  const release = await deps.store.releases.create(app, {
    ...carryOver(current),
    config,
    description,
    user,
    buildId,
  });
  log(`-----> ${description}: deploying ${app} as ${releaseTag(release.version)}`);
  return releaseLive(deps, app, release, log, onLive);
}

/** Roll back: a new release with an earlier release's image and config (as Heroku does). */
export async function rollback(
  deps: ReleaseDeps,
  app: AppName,
  target: number | null,
  user: string,
  log: (line: string) => void,
  buildId?: string,
  onLive?: () => Promise<void> | void,
): Promise<Release> {
  const current = await currentRelease(deps.store, app);
  const all = await deps.store.releases.list(app);
  const to = target
    ? all.find((r) => r.version === target)
    : all.find((r) => r.version < current.version && r.status === "succeeded" && r.image);
  if (!to) {
    throw invalid(
      target
        ? `release v${target} of ${app} does not exist; see \`paas releases\``
        : `${app} has no earlier successful release to roll back to`,
    );
  }
  if (!to.image || to.status === "failed") {
    throw invalid(
      `release v${to.version} cannot be rolled back to: it ${to.status === "failed" ? "failed" : "has no image"}`,
    );
  }
  const release = await deps.store.releases.create(app, {
    ...carryOver(to),
    config: to.config,
    description: `Rollback to v${to.version}`,
    user,
    buildId,
  });
  log(`-----> Rolling back ${app} to v${to.version} as ${releaseTag(release.version)}`);
  return releaseLive(deps, app, release, log, async () => {
    // The rolled-back-to config is the app's config from now on.
    await deps.store.config.replace(app, to.config);
    log(`       now at v${release.version}`);
    await onLive?.();
  });
}

function carryOver(r: Release) {
  return { image: r.image, commit: r.commit, processTypes: r.processTypes, port: r.port, appJson: r.appJson };
}
