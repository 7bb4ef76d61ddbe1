import { LABEL, ownedFilter } from "../docker/labels.js";
import type { AppName } from "../names.js";
import type { ReleaseDeps } from "./release.js";

/**
 * Remove the app's images that no kept release points at. Kept: the newest
 * PAAS_RELEASE_RETENTION releases and the current one (config changes and rollbacks share
 * their build's image, so an image stays while any kept release uses it).
 */
export async function gcImages(
  deps: ReleaseDeps,
  app: AppName,
  log: (line: string) => void,
): Promise<number> {
  const { store, settings, docker } = deps;
  const record = await store.apps.require(app);
  const releases = await store.releases.list(app);
  const kept = new Set<string>();
  for (const r of releases.slice(0, settings.releaseRetention)) if (r.image) kept.add(r.image);
  const current = releases.find((r) => r.version === record.release);
  if (current?.image) kept.add(current.image);
  let removed = 0;
  const images = await docker.images.list(ownedFilter(settings.namespace, app, [`${LABEL.kind}=release`]));
  for (const img of images) {
    const tags = img.RepoTags ?? [];
    if (tags.some((t) => kept.has(t))) continue;
    await docker.images.remove(img.Id);
    removed++;
  }
  if (removed > 0)
    log(`-----> Removed ${removed} old image(s) (keeping ${settings.releaseRetention} releases)`);
  return removed;
}
