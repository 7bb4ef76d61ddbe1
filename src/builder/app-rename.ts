import fsp from "node:fs/promises";
import path from "node:path";
import { LABEL, ownedFilter } from "../docker/labels.js";
import { conflict, DeployFailed, invalid, messageOf } from "../errors.js";
import { Repos } from "../git/repos.js";
import { type AppName, parseAppName } from "../names.js";
import { discoveryFor } from "../plugins/discovery.js";
import { appUrl } from "../runtime/release.js";
import { swarmNetworkName } from "../runtime/swarm/extras.js";
import { renameAppState } from "../store/rename.js";
import { relabelImage } from "./image-release.js";
import type { PipelineDeps } from "./pipeline.js";

// `paas apps:rename OLD NEW` (Dokku's apps:rename), the worker's half. Under both names'
// locks: the app's images get the new name and labels, its state moves in Redis (record,
// config, releases, formation, domains, route...), its git repository and build cache move
// on disk, the current release starts under the new name and the old containers go (a
// container's labels cannot change, so they are replaced, not relabelled).

/** The job apps:rename enqueues (queued in the old name's job order). */
export interface RenameJob {
  kind: "rename";
  buildId: string;
  /** The current (old) name. */
  app: string;
  seq: number;
  to: string;
  user: string;
}

/** "ns/old:v3" -> "ns/new:v3", "ns/old-deps:abc" -> "ns/new-deps:abc"; null for other repos. */
export function renamedTag(tag: string, namespace: string, from: string, to: string): string | null {
  const colon = tag.lastIndexOf(":");
  const repo = colon > tag.lastIndexOf("/") ? tag.slice(0, colon) : tag;
  const rest = tag.slice(repo.length);
  const base = `${namespace}/${from}`;
  if (repo === base) return `${namespace}/${to}${rest}`;
  if (repo.startsWith(`${base}-`)) return `${namespace}/${to}${repo.slice(base.length)}${rest}`;
  return null;
}

export async function runRename(
  deps: PipelineDeps,
  job: RenameJob,
  log: (line: string) => void,
): Promise<string> {
  const { store, settings, docker } = deps;
  const from = parseAppName(job.app);
  const to = parseAppName(job.to);
  const ns = settings.namespace;
  await store.lock.withLock(from, () =>
    store.lock.withLock(to, async () => {
      const record = await store.apps.require(from);
      if (await store.apps.get(to)) throw conflict(`app "${to}" already exists; pick another name`);
      log(`-----> Renaming ${from} to ${to}`);

      // Images first: nothing is moved yet if this fails, and the new tags are removed.
      const tags: Record<string, string> = {};
      try {
        for (const img of await docker.images.list(ownedFilter(ns, from))) {
          for (const tag of img.RepoTags ?? []) {
            const next = renamedTag(tag, ns, from, to);
            if (!next) continue;
            await relabelImage(docker, img.Id, next, { ...(img.Labels ?? {}), [LABEL.app]: to });
            tags[tag] = next;
          }
        }
      } catch (err) {
        for (const next of Object.values(tags)) await docker.images.remove(next).catch(() => {});
        throw err;
      }
      log(`       ${Object.keys(tags).length} image(s) tagged under ${ns}/${to}`);

      await renameAppState(store.redis, store.keys, from, to, tags);
      // This job's own record moved with the app's builds: it is finished (and its turn
      // taken, worker.ts) under the new name, so nothing of the old one is written again.
      await store.builds.update(job.buildId, { app: to });
      log("       config, releases, formation, domains and route moved");
      // Before anything starts under the new name: plugins' answers for it (storage mounts,
      // shared networks) must already be there.
      await deps.plugins?.fire("app-rename", { app: to, from }, log);

      const repos = new Repos(settings.dataDir);
      await moveDir(repos.pathOf(from), repos.pathOf(to));
      await moveDir(path.join(settings.dataDir, "cache", from), path.join(settings.dataDir, "cache", to));

      // What runs: the current release under the new name, then the old containers go.
      const old = await docker.containers.list(ownedFilter(ns, from));
      const release = record.release ? await store.releases.get(to, record.release) : null;
      if (release?.image) {
        const formation = await store.formation.get(to);
        try {
          await deps.deployer.deploy(to, release, formation, log, { releasePhase: false });
        } catch (err) {
          throw new DeployFailed(
            `${from} is now ${to}, but starting it under the new name failed: ${messageOf(err)}; ` +
              `run \`paas ps:restart -a ${to}\``,
          );
        }
      }
      // Swarm: the old name's services go (removing their tasks' containers alone would only
      // make Swarm start new ones: the old name kept running forever), and their tasks with them.
      const swarm = settings.scheduler === "swarm";
      if (swarm) {
        for (const s of await docker.services.list(ownedFilter(ns, from, [`${LABEL.kind}=service`])))
          await docker.services.remove(s.ID);
      }
      for (const c of old) await docker.containers.remove(c.Id);
      // The old name's private network (the new containers are on the new name's) goes with
      // them; in swarm mode its overlay too, once the old tasks left it (bounded retries).
      const appNetwork = discoveryFor(ns).appNetwork(from);
      await docker.networks
        .remove(appNetwork)
        .catch((err) => log(`       the network of ${from} stays: ${messageOf(err)}`));
      if (swarm) {
        const overlay = swarmNetworkName(appNetwork);
        for (let i = 0; ; i++) {
          const err = await docker.networks.remove(overlay).then(
            () => null,
            (e: unknown) => e,
          );
          if (!err) break;
          if (i >= 40) {
            log(`       the network ${overlay} of ${from} stays: ${messageOf(err)}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      // The old tags go; the images stay as long as the new tags (their children) need them.
      for (const tag of Object.keys(tags)) await docker.images.remove(tag);
      deps.events?.emit(to, "api", `Renamed from ${from}${job.user ? ` by ${job.user}` : ""}`);
      log(`-----> ${from} is now ${to}: ${appUrl(settings, to)}`);
    }),
  );
  return appUrl(settings, to);
}

async function moveDir(from: string, to: string): Promise<void> {
  try {
    await fsp.rm(to, { recursive: true, force: true });
    await fsp.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Checks the API makes before queueing a rename, so a mistake is a 4xx naming it. */
export async function checkRename(
  store: PipelineDeps["store"],
  from: AppName,
  rawTo: unknown,
): Promise<AppName> {
  const to = parseAppName(rawTo);
  if (to === from) throw invalid(`the app is already named "${from}": give a different new name`);
  if (await store.apps.get(to)) throw conflict(`app "${to}" already exists; pick another name`);
  return to;
}
