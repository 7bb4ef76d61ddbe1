import type { Settings } from "../config.js";
import type { AppName } from "../names.js";
import type { Store } from "../store/index.js";
import { type Release, releaseTag, saveRelease } from "../store/releases.js";
import type { Runtime } from "./runtime.js";

export function appUrl(settings: Settings, app: string): string {
  const port = settings.httpPort === 80 ? "" : `:${settings.httpPort}`;
  return `http://${app}.${settings.domain}${port}`;
}

/**
 * Put a release live: deploy it under the app's lock, then record it as current. A failed
 * deploy marks the release failed and leaves the previous one serving.
 */
export async function releaseLive(
  deps: { settings: Settings; store: Store; runtime: Runtime },
  app: AppName,
  release: Release,
  log: (line: string) => void,
): Promise<void> {
  const { store, runtime } = deps;
  try {
    await store.lock.withLock(app, () => runtime.deploy(app, release, log));
  } catch (err) {
    await saveRelease(store, app, { ...release, status: "failed" });
    throw err;
  }
  await saveRelease(store, app, { ...release, status: "succeeded" });
  await store.apps.setCurrentRelease(app, release.version);
  log(`-----> Released ${releaseTag(release.version)}`);
}

/** A new release of the current image with the app's current config (config change, restart). */
export async function rerelease(
  deps: { settings: Settings; store: Store; runtime: Runtime },
  app: AppName,
  description: string,
  user: string,
  log: (line: string) => void,
): Promise<Release | null> {
  const record = await deps.store.apps.require(app);
  if (record.release === 0) return null;
  const current = await deps.store.releases.get(app, record.release);
  if (!current?.image) return null;
  const config = await deps.store.config.get(app);
  const release = await deps.store.releases.create(app, {
    image: current.image,
    commit: current.commit,
    config,
    processTypes: current.processTypes,
    port: current.port,
    description,
    user,
  });
  log(`-----> ${description}: restarting ${app} as ${releaseTag(release.version)}`);
  await releaseLive(deps, app, release, log);
  return release;
}
