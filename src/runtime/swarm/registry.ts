import { execFile } from "node:child_process";
import fs from "node:fs";
import tls from "node:tls";
import { promisify } from "node:util";
import { Agent, fetch } from "undici";
import { localRegistryConfig, type Settings } from "../../config.js";
import type { RegistryAuth } from "../../docker/images.js";
import type { DockerParts } from "../../docker/index.js";
import { messageOf } from "../../errors.js";
import type { Store } from "../../store/index.js";
import { type Release, releaseTag } from "../../store/releases.js";

const exec = promisify(execFile);
const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/** Where an app's release images live in the registry: <registry>/<namespace>/<app>. */
export function registryRepo(registry: string, namespace: string, app: string): string {
  return `${registry}/${namespace}/${app}`;
}

/** The tags of a repository that retention removes: every release tag not kept. */
export function tagsToRemove(tags: string[], kept: Set<string>): string[] {
  return tags.filter((t) => /^v\d+$/.test(t) && !kept.has(t));
}

/** The local base and stack images a node needs to run and build: every tag of these repos. */
export const BASE_REPOS = ["paas/busybox", "paas/debian", "paas/stack-run", "paas/stack-build"];

/** The `repo:tag`s of BASE_REPOS among an engine's image tags. */
export function baseImagesOf(repoTags: string[]): string[] {
  return repoTags.filter((t) => BASE_REPOS.includes(t.slice(0, t.lastIndexOf(":")))).sort();
}

/**
 * Swarm mode's images on every node: a release's image is pushed to PAAS_REGISTRY and its
 * services run it by digest (repo:tag@sha256:...), so every node pulls exactly what was
 * built. Retention deletes old release tags' manifests through the registry's HTTP API and,
 * when this host holds the registry's storage (PAAS_REGISTRY_CONFIG), runs its garbage
 * collection.
 */
export class ReleaseRegistry {
  private readonly pushed = new Map<string, string>();
  /** HTTPS to a registry whose certificate a CA of its own signed (PAAS_REGISTRY_CA). */
  private readonly dispatcher: Agent | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly docker: DockerParts,
  ) {
    const ca = settings.registryTls && settings.registryCa ? fs.readFileSync(settings.registryCa) : null;
    // The CA is trusted next to the system's, not instead of them.
    this.dispatcher = ca
      ? new Agent({ connect: { ca: [...tls.rootCertificates, ca.toString("utf8")] } })
      : undefined;
  }

  /**
   * What Docker needs to push to and pull from the registry (PAAS_REGISTRY_USERNAME and
   * _PASSWORD): pushes, and services created or updated (the engine hands it to the nodes).
   */
  get auth(): RegistryAuth | undefined {
    const { registry, registryAuth } = this.settings;
    if (!registry || !registryAuth) return undefined;
    return { ...registryAuth, serveraddress: registry };
  }

  /**
   * One line about the registry for the worker's start (never the password), and whether its
   * API answers with these credentials: setup's own registry when PAAS_REGISTRY is unset.
   */
  async describe(): Promise<{ line: string; ok: boolean }> {
    const s = this.settings;
    if (!s.registry) {
      const why = fs.existsSync(localRegistryConfig(s.dataDir))
        ? "PAAS_REGISTRY=none"
        : `PAAS_REGISTRY unset and no registry of setup's in ${localRegistryConfig(s.dataDir)}: PAAS_SCHEDULER=swarm npm run setup starts one`;
      return { line: `no registry (${why}): images stay on the manager's engine`, ok: true };
    }
    const what = [
      s.registryLocal ? `setup's registry at ${s.registry} (PAAS_REGISTRY unset)` : `registry ${s.registry}`,
      s.registryTls ? "https" : "http",
      s.registryAuth ? `user ${s.registryAuth.username}` : "no auth",
      s.registryConfig ? `garbage collection with ${s.registryConfig}` : "no garbage collection here",
    ].join(", ");
    let status: number;
    try {
      status = (await this.api("/v2/")).status;
    } catch (err) {
      const hint = s.registryLocal ? ": start it with scripts/registry.sh (npm run setup does)" : "";
      // fetch says only "fetch failed": the reason (refused, a certificate...) is its cause.
      const reason = messageOf((err as { cause?: unknown }).cause ?? err);
      return { line: `${what}: does not answer (${reason})${hint}`, ok: false };
    }
    if (status === 200) return { line: what, ok: true };
    const why =
      status === 401
        ? s.registryAuth
          ? "refuses PAAS_REGISTRY_USERNAME/PASSWORD"
          : "wants auth: set PAAS_REGISTRY_USERNAME and PAAS_REGISTRY_PASSWORD"
        : `answers HTTP ${status} on /v2/`;
    return { line: `${what}: ${why}`, ok: false };
  }

  /** The image reference services run: by digest with a registry, the local tag without. */
  async imageFor(app: string, release: Release, log?: (line: string) => void): Promise<string> {
    if (!release.image) throw new Error("release has no image");
    const registry = this.settings.registry;
    if (!registry) return release.image;
    const repo = registryRepo(registry, this.settings.namespace, app);
    const tag = releaseTag(release.version);
    const key = `${repo}:${tag}`;
    const known = this.pushed.get(key);
    if (known) return known;
    log?.(`-----> Pushing ${key}`);
    await this.docker.images.tag(release.image, repo, tag);
    const digest = await this.docker.images.push(repo, tag, this.auth);
    const ref = `${key}@${digest}`;
    this.pushed.set(key, ref);
    return ref;
  }

  /**
   * Push the local base and stack images (BASE_REPOS) as <registry>/paas/...: a node that joins
   * later pulls them (README "Several hosts"). Returns what was pushed.
   */
  async pushBaseImages(): Promise<string[]> {
    const registry = this.settings.registry;
    if (!registry) return [];
    const tags = (await this.docker.images.list({})).flatMap((i) => i.RepoTags ?? []);
    const pushed: string[] = [];
    for (const ref of baseImagesOf(tags)) {
      const at = ref.lastIndexOf(":");
      const repo = `${registry}/${ref.slice(0, at)}`;
      await this.docker.images.tag(ref, repo, ref.slice(at + 1));
      await this.docker.images.push(repo, ref.slice(at + 1), this.auth);
      pushed.push(`${repo}:${ref.slice(at + 1)}`);
    }
    return pushed;
  }

  /** Remove release tags no kept release uses; returns how many manifests went. */
  async prune(store: Store, app: string): Promise<number> {
    const registry = this.settings.registry;
    if (!registry) return 0;
    const record = await store.apps.get(app as never);
    const releases = await store.releases.list(app);
    const kept = new Set(releases.slice(0, this.settings.releaseRetention).map((r) => releaseTag(r.version)));
    if (record?.release) kept.add(releaseTag(record.release));
    const name = `${this.settings.namespace}/${app}`;
    const list = await this.api(`/v2/${name}/tags/list`);
    if (list.status === 404) return 0;
    const tags = ((await list.json()) as { tags?: string[] | null }).tags ?? [];
    let removed = 0;
    for (const tag of tagsToRemove(tags, kept)) {
      const head = await this.api(`/v2/${name}/manifests/${tag}`, "HEAD");
      const digest = head.headers.get("docker-content-digest");
      if (!digest) continue;
      const del = await this.api(`/v2/${name}/manifests/${digest}`, "DELETE");
      if (del.ok || del.status === 404) removed++;
      else
        throw new Error(
          `the registry refused to delete ${name}:${tag} (HTTP ${del.status}); enable storage.delete`,
        );
      this.pushed.delete(`${registryRepo(registry, this.settings.namespace, app)}:${tag}`);
    }
    if (removed > 0) await this.collectGarbage();
    return removed;
  }

  /** The registry's garbage collection (blobs no manifest uses), where its storage is. */
  async collectGarbage(): Promise<boolean> {
    if (!this.settings.registryConfig) return false;
    try {
      await exec("docker-registry", ["garbage-collect", "--delete-untagged", this.settings.registryConfig], {
        timeout: 5 * 60_000,
      });
      return true;
    } catch (err) {
      throw new Error(`registry garbage collection failed: ${messageOf(err)}`);
    }
  }

  /** The registry's HTTP API: basic auth and HTTPS as configured. */
  private api(path: string, method = "GET") {
    const { registry, registryAuth, registryTls } = this.settings;
    const headers: Record<string, string> = { accept: MANIFEST_TYPES };
    if (registryAuth) {
      const basic = Buffer.from(`${registryAuth.username}:${registryAuth.password}`).toString("base64");
      headers.authorization = `Basic ${basic}`;
    }
    return fetch(`${registryTls ? "https" : "http"}://${registry}${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(30_000),
      dispatcher: this.dispatcher,
    });
  }
}
