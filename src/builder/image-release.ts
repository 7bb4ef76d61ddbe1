import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedLabels } from "../docker/labels.js";
import { BuildFailed, PaasError } from "../errors.js";
import type { AppName } from "../names.js";
import { appUrl, releaseLive } from "../runtime/release.js";
import { releaseTag, saveRelease } from "../store/releases.js";
import { packContext } from "./context.js";
import { portFromExposed } from "./dockerfile-plan.js";
import type { PipelineDeps } from "./pipeline.js";
import { parseProcfile } from "./procfile.js";

// `paas deploy:image IMAGE` (Dokku's git:from-image): release an image that is already in
// the engine as if it had been pushed. The image becomes the release image under the
// platform's name and labels (a one-line `FROM <id>` build, so no layer is copied and GC
// and apps:destroy find it by label), its process types come from a label or its CMD, its
// port from EXPOSE, and it goes live through the same deploy as a push.

/** Image references as Docker writes them: name[:tag][@digest], or an image id. */
const IMAGE_REF = /^[a-z0-9][a-z0-9._/:@-]*$/i;

/** The job a deploy:image enqueues. */
export interface ImageJob {
  kind: "image";
  buildId: string;
  app: string;
  seq: number;
  /** The image as the user named it (a tag, name@digest or id). */
  image: string;
  user: string;
}

export function parseImageRef(raw: unknown): string {
  const image = typeof raw === "string" ? raw.trim() : "";
  if (image === "" || image.length > 255 || !IMAGE_REF.test(image)) {
    throw new PaasError(
      "invalid_input",
      `${JSON.stringify(raw ?? "")} is not an image reference; name one like myapp:1.0 or sha256:<id> (see \`docker images\`)`,
    );
  }
  return image;
}

export function imageMissing(image: string): BuildFailed {
  return new BuildFailed(
    `image "${image}" is not in the platform's Docker engine: list its images with \`docker images\`, ` +
      "add one with `docker load -i IMAGE.tar` or `docker build -t NAME .` on the platform's host, then run deploy:image again",
  );
}

/**
 * Process types of an image: a `paas.process-types` label (JSON, as paas builds write it),
 * else a `paas.procfile` or `procfile` label (Procfile text), else its CMD as `web` ("" runs
 * the image's own command). An image with neither has nothing to run.
 */
export function imageProcessTypes(
  config: Pick<Docker.ImageInspectInfo["Config"], "Labels" | "Cmd" | "Entrypoint">,
): Record<string, string> {
  const labels = config.Labels ?? {};
  const json = labels[LABEL.processTypes];
  if (json) {
    try {
      const types = JSON.parse(json) as unknown;
      if (types && typeof types === "object" && !Array.isArray(types) && Object.keys(types).length > 0) {
        return Object.fromEntries(Object.entries(types).map(([k, v]) => [k, String(v ?? "")]));
      }
    } catch {
      throw new BuildFailed(`the image's ${LABEL.processTypes} label is not JSON like {"web": "./server"}`);
    }
  }
  const procfile = labels["paas.procfile"] ?? labels.procfile;
  if (procfile) {
    const types = parseProcfile(procfile);
    if (Object.keys(types).length > 0) return types;
  }
  const hasCmd = (config.Cmd?.length ?? 0) > 0 || (config.Entrypoint?.length ?? 0) > 0;
  if (!hasCmd) {
    throw new BuildFailed(
      'the image has no CMD and no process types: give it a CMD, or a label paas.procfile="web: ./start" (Procfile lines)',
    );
  }
  return { web: "" };
}

/**
 * Make `tag` an image of `from` carrying `labels` (a `FROM <id>` build: metadata only, the
 * layers are shared). Returns the new image's inspect data.
 */
export async function relabelImage(
  docker: DockerParts,
  fromId: string,
  tag: string,
  labels: Record<string, string>,
): Promise<Docker.ImageInspectInfo> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-relabel-"));
  try {
    await fsp.writeFile(path.join(dir, "Dockerfile"), `FROM ${fromId}\n`);
    await docker.images.build(await packContext(dir, ["Dockerfile"]), { tag, labels }, () => {});
    const info = await docker.images.inspect(tag);
    if (!info) throw new BuildFailed(`tagging the image as ${tag} produced no image`);
    return info;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** deploy:image -> release -> live. Returns the app URL. */
export async function runImageRelease(
  deps: PipelineDeps,
  job: ImageJob,
  log: (line: string) => void,
  announce?: (url: string) => void,
): Promise<string> {
  const { store, settings, docker } = deps;
  const app = job.app as AppName;
  await store.apps.require(app);
  log(`-----> Deploying image ${job.image} to ${app}`);
  const source = await docker.images.inspect(job.image);
  if (!source) throw imageMissing(job.image);
  const processTypes = imageProcessTypes(source.Config);
  const port = portFromExposed(source.Config?.ExposedPorts);
  const release = await store.releases.create(app, {
    image: null,
    commit: null,
    config: await store.config.get(app),
    processTypes: {},
    port,
    description: `Deploy image ${job.image} (${source.Id.replace(/^sha256:/, "").slice(0, 12)})`,
    user: job.user,
    buildId: job.buildId,
  });
  const tag = releaseTag(release.version);
  const imageTag = `${settings.namespace}/${app}:${tag}`;
  try {
    await relabelImage(
      docker,
      source.Id,
      imageTag,
      ownedLabels(settings.namespace, {
        [LABEL.app]: app,
        [LABEL.release]: tag,
        [LABEL.kind]: "release",
        [LABEL.processTypes]: JSON.stringify(processTypes),
        "paas.source-image": job.image,
      }),
    );
  } catch (err) {
    await saveRelease(store, app, { ...release, status: "failed" });
    throw err;
  }
  const built = { ...release, image: imageTag, processTypes, port };
  await saveRelease(store, app, built);
  log(`       image ${source.Id.slice(0, 19)} tagged ${imageTag}`);
  log(
    `-----> Process types: ${Object.entries(processTypes)
      .filter(([t]) => t !== "release")
      .map(([t, c]) => (c ? `${t} (${c})` : `${t} (the image's CMD)`))
      .join(", ")}; port ${port}`,
  );
  // release is a phase run once per deploy, not a process type.
  if (processTypes.release !== undefined) log(`-----> Release command: ${processTypes.release}`);
  const url = appUrl(settings, app);
  await releaseLive(deps, app, built, log, () => {
    log(`       ${url} deployed to paas`);
    announce?.(url);
  });
  return url;
}
