import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type AppJson, EMPTY_APP_JSON, parseAppJson } from "../app-json/app-json.js";
import { LABEL, ownedLabels } from "../docker/labels.js";
import { BuildFailed } from "../errors.js";
import type { AppName } from "../names.js";
import { commitPredeploy } from "../runtime/predeploy.js";
import { appUrl, type ReleaseDeps, releaseLive, rerelease, rollback } from "../runtime/release.js";
import { releaseTag, saveRelease } from "../store/releases.js";
import { runRename } from "./app-rename.js";
import { unpackSource } from "./context.js";
import { runImageRelease } from "./image-release.js";
import type { BuildJob, JobData } from "./jobs.js";
import { runOperation } from "./operations.js";
import { forgetSource, localSource } from "./remote-source.js";
import type { Builder } from "./types.js";

export interface PipelineDeps extends ReleaseDeps {
  builders: Builder[];
}

/** Choose the builder: the app's forced one, else the first whose detect() says yes. */
export async function chooseBuilder(
  builders: Builder[],
  forced: string | undefined,
  sourceDir: string,
): Promise<Builder> {
  if (forced) {
    const b = builders.find((x) => x.name === forced);
    if (b) return b;
  }
  for (const b of builders) if (await b.detect(sourceDir)) return b;
  const last = builders[builders.length - 1];
  if (!last) throw new BuildFailed("no builder is available on this platform");
  return last;
}

/**
 * What the build says about the Procfile: its process types, and its release command apart
 * (release is a phase that runs once per deploy, never a process type).
 */
export function processTypeLines(processTypes: Record<string, string>): string[] {
  const types = Object.keys(processTypes).filter((t) => t !== "release");
  const lines = [`-----> Process types: ${types.join(", ")}`];
  if (processTypes.release !== undefined) lines.push(`-----> Release command: ${processTypes.release}`);
  return lines;
}

/** push -> image -> release -> live. Returns the app URL. */
export async function runBuild(
  deps: PipelineDeps,
  job: BuildJob,
  log: (line: string) => void,
  announce?: (url: string) => void,
): Promise<string> {
  const { store, settings } = deps;
  const app = job.app as AppName;
  const appRecord = await store.apps.require(app);
  const short = job.commit.slice(0, 7);
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), `paas-build-${app}-`));
  try {
    log(`-----> Building ${app} from commit ${short} (${job.ref.replace("refs/heads/", "")})`);
    const sourceDir = path.join(workDir, "src");
    await unpackSource(await localSource(store, job.tarPath, workDir), sourceDir);
    const builder = await chooseBuilder(deps.builders, appRecord.builder, sourceDir);
    const appJson = await readAppJson(sourceDir);
    for (const warning of appJson.warnings ?? []) log(` !     ${warning}`);
    // A veto here rejects the push before anything is built.
    await deps.plugins?.fire("pre-build", { app, buildId: job.buildId, commit: job.commit }, log);
    const config = await store.config.get(app);
    const release = await store.releases.create(app, {
      image: null,
      commit: job.commit,
      config,
      processTypes: {},
      port: 5000,
      description: `Deploy ${short}`,
      user: job.user,
      buildId: job.buildId,
    });
    const tag = releaseTag(release.version);
    const imageTag = `${settings.namespace}/${app}:${tag}`;
    let result: Awaited<ReturnType<Builder["build"]>>;
    try {
      result = await builder.build({
        app,
        release: tag,
        commit: job.commit,
        sourceDir,
        imageTag,
        labels: ownedLabels(settings.namespace, {
          [LABEL.app]: app,
          [LABEL.release]: tag,
          [LABEL.kind]: "release",
        }),
        config,
        cacheDir: path.join(settings.dataDir, "cache", app),
        appBuild: { builder: appRecord.builder, buildpacks: appRecord.buildpacks },
        settings,
        docker: deps.docker,
        log,
      });
    } catch (err) {
      await saveRelease(store, app, { ...release, status: "failed" });
      throw err;
    }
    const types = Object.keys(result.processTypes).filter((t) => t !== "release");
    if (types.length === 0) {
      throw new BuildFailed("the build produced no process types: add a Procfile with a web process");
    }
    try {
      const image = result.image;
      await deps.plugins?.fire("post-build", { app, buildId: job.buildId, commit: job.commit, image }, log);
    } catch (err) {
      await saveRelease(store, app, { ...release, status: "failed" });
      throw err;
    }
    const built = {
      ...release,
      image: result.image,
      processTypes: result.processTypes,
      port: result.port ?? 5000,
      appJson,
    };
    await saveRelease(store, app, built);
    for (const line of processTypeLines(result.processTypes)) log(line);
    try {
      await commitPredeploy(deps, app, built, log);
    } catch (err) {
      await saveRelease(store, app, { ...built, status: "failed" });
      throw err;
    }
    const url = appUrl(settings, app);
    await releaseLive(deps, app, built, log, () => {
      log(`       ${url} deployed to paas`);
      announce?.(url);
    });
    return url;
  } finally {
    await fsp.rm(workDir, { recursive: true, force: true }).catch(() => {});
    await fsp.rm(job.tarPath, { force: true }).catch(() => {});
    await forgetSource(store, job.tarPath).catch(() => {});
  }
}

/** The queue's job runner: a thin dispatch from job kind to the function that does it. */
export function pipelineRunner(deps: PipelineDeps) {
  return async (
    job: JobData,
    emit: (line: string) => void,
    announce?: (url: string) => void,
  ): Promise<string | { result: unknown }> => {
    if (job.kind === "build") return runBuild(deps, job, emit, announce);
    if (job.kind === "operation") return { result: await runOperation(deps, job, emit) };
    if (job.kind === "image") return runImageRelease(deps, job, emit, announce);
    if (job.kind === "rename") return runRename(deps, job, emit);
    const url = appUrl(deps.settings, job.app);
    const live = () => announce?.(url);
    if (job.kind === "rollback")
      await rollback(deps, job.app as AppName, job.target, job.user, emit, job.buildId, live);
    else await rerelease(deps, job.app as AppName, job.description, job.user, emit, job.buildId, live);
    return url;
  };
}

async function readAppJson(dir: string): Promise<AppJson> {
  const file = path.join(dir, "app.json");
  try {
    return parseAppJson(await fsp.readFile(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_APP_JSON;
    throw err;
  }
}
