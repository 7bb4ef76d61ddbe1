import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { LABEL } from "../../docker/labels.js";
import { BuildFailed } from "../../errors.js";
import { buildNetwork } from "../build-network.js";
import { parseProcfile } from "../procfile.js";
import { checkTree, isInside, UnsafeSource } from "../safe-paths.js";
import { ensureStackImages, STACK_VERSION } from "../stack.js";
import type { BuildContext, BuildResult } from "../types.js";
import { BUILD_UID, compileContainerSpec, DEFAULT_PORT } from "./plan.js";
import { mergeProcessTypes, parseReleaseYaml } from "./release.js";
import {
  type BuildpackSelection,
  chooseBuildpacks,
  compileFailureReason,
  describeRef,
  nothingDetected,
} from "./select.js";
import { commitSlugImage } from "./slug.js";

const run = promisify(execFile);

// The executor: stage the host directories, run the compile container, read what the
// buildpacks reported, turn the slug into an image. Decisions live in select/plan/release.

const COMPILE_TIMEOUT_MS = 30 * 60 * 1000;
/** Memory for the compile container (npm and go builds need more than a web dyno). */
const COMPILE_MEMORY = 2 * 1024 * 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Runner exit codes (templates/slug/compile.sh). */
const EXIT = { nothingDetected: 10, notCompatible: 11, fetchFailed: 12 } as const;

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/**
 * Give the compile user (uid 1000) the tree. As root (the normal case: the platform drives
 * dockerd) that is a chown; otherwise the best we can do is open the modes up.
 */
async function handOver(target: string, recursive: boolean): Promise<void> {
  const root = isRoot();
  if (!root && process.getuid?.() === BUILD_UID) return;
  const one = async (p: string, isDir: boolean) => {
    if (root) await fsp.lchown(p, BUILD_UID, BUILD_UID);
    else {
      const mode = (await fsp.stat(p)).mode & 0o777;
      await fsp.chmod(p, mode | (isDir ? 0o777 : 0o666)).catch(() => {});
    }
  };
  await one(target, true);
  if (!recursive) return;
  for (const e of await fsp.readdir(target, { withFileTypes: true })) {
    const p = path.join(target, e.name);
    if (e.isDirectory()) await handOver(p, true);
    else if (!e.isSymbolicLink()) await one(p, false);
    else if (root) await fsp.lchown(p, BUILD_UID, BUILD_UID);
  }
}

/** Config vars as files (Heroku's ENV_DIR), readable by the compile user only when we can chown. */
async function writeEnvDir(dir: string, config: Record<string, string>): Promise<void> {
  const mode = isRoot() ? 0o600 : 0o644;
  await fsp.mkdir(dir, { mode: isRoot() ? 0o700 : 0o755 });
  for (const [name, value] of Object.entries(config)) {
    if (!ENV_NAME.test(name)) continue;
    await fsp.writeFile(path.join(dir, name), value, { mode });
  }
  if (isRoot()) await handOver(dir, true);
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Which buildpacks ran (name + spec) and the default process types each released. */
async function readCompileOutput(
  outDir: string,
): Promise<{ names: string[]; defaults: Record<string, string>[] }> {
  const listed = ((await readIfExists(path.join(outDir, "buildpacks"))) ?? "").split("\n").filter(Boolean);
  const names = listed.map((l) => l.split("\t")[0]);
  const defaults: Record<string, string>[] = [];
  for (let i = 0; i < listed.length; i++) {
    const yaml = await readIfExists(path.join(outDir, `release-${i}.yml`));
    if (yaml !== null) defaults.push(parseReleaseYaml(yaml, `${names[i]} bin/release`));
  }
  return { names, defaults };
}

function compileFailure(exitCode: number, selection: BuildpackSelection, lastLines: string[]): BuildFailed {
  if (exitCode === EXIT.nothingDetected) return nothingDetected();
  if (exitCode === EXIT.notCompatible) {
    return new BuildFailed(
      `a chosen buildpack does not support this app (its bin/detect failed); chosen via ${selection.source}: ` +
        selection.refs.map(describeRef).join(", "),
    );
  }
  if (exitCode === EXIT.fetchFailed) {
    return new BuildFailed(
      "could not fetch a buildpack (git clone or checkout failed; see the output above)",
    );
  }
  // The compile's output was streamed as it ran: the reason is one line, not a second copy.
  return new BuildFailed(compileFailureReason(exitCode, lastLines));
}

/**
 * file:// buildpacks are cloned (bare) on the host into the build's work dir and handed to
 * the build user: only a git repository can be used, and only its copy is mounted.
 */
async function copyLocalBuildpacks(
  selection: BuildpackSelection,
  work: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let i = 0;
  for (const ref of selection.refs) {
    if (ref.kind !== "git" || !ref.localPath || out[ref.localPath]) continue;
    const copy = path.join(work, `buildpack-${i++}.git`);
    try {
      await run("git", ["clone", "--bare", "--quiet", "--", ref.localPath, copy], { timeout: 120_000 });
    } catch {
      throw new BuildFailed(
        `buildpack ${ref.url} is not a git repository the platform can read; point file:// at a git repository`,
      );
    }
    await handOver(copy, true);
    out[ref.localPath] = copy;
  }
  return out;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export async function buildWithBuildpacks(ctx: BuildContext): Promise<BuildResult> {
  const { docker, settings, log } = ctx;
  const stack = await ensureStackImages(docker, settings, log);
  const selection = chooseBuildpacks({
    appBuildpacks: ctx.appBuild.buildpacks,
    config: ctx.config,
    dotBuildpacks: await readIfExists(path.join(ctx.sourceDir, ".buildpacks")),
  });
  if (selection.source !== "auto-detect") {
    log(`-----> Buildpacks from ${selection.source}: ${selection.refs.map(describeRef).join(", ")}`);
  }

  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-buildpacks-"));
  try {
    const envDir = path.join(work, "env");
    const outDir = path.join(work, "out");
    await writeEnvDir(envDir, ctx.config);
    await fsp.mkdir(outDir);
    await handOver(outDir, false);
    await fsp.mkdir(ctx.cacheDir, { recursive: true });
    await handOver(ctx.cacheDir, false);
    await handOver(ctx.sourceDir, true);
    const localBuildpacks = await copyLocalBuildpacks(selection, work);

    const labels = { ...ctx.labels, [LABEL.kind]: "build" };
    const spec = compileContainerSpec({
      name: `${settings.namespace}-build-${ctx.app}-${ctx.release}-${randomBytes(3).toString("hex")}`,
      image: stack.build,
      selection,
      paths: { buildDir: ctx.sourceDir, cacheDir: ctx.cacheDir, envDir, outDir, localBuildpacks },
      labels,
      settings,
      stack: `paas-${STACK_VERSION}`,
      memory: Math.max(COMPILE_MEMORY, settings.defaultMemory),
      // The same network as Dockerfile builds: the internet, but not this host's ports.
      networkMode: await buildNetwork(docker, settings, log),
    });
    const compiled = await docker.containers.runToCompletion(spec, log, COMPILE_TIMEOUT_MS);
    if (compiled.exitCode !== 0) throw compileFailure(compiled.exitCode, selection, compiled.lastLines);
    // The compile step could leave links to host paths where the platform reads next: the
    // Procfile and the compile's output files are read here only when they stay inside.
    // (Other links in the slug are the app's business: they resolve inside its container.)
    await outwardLinksFail(outDir);
    await noLinkOut(ctx.sourceDir, "Procfile");

    const { names, defaults } = await readCompileOutput(outDir);
    const procfileText = await readIfExists(path.join(ctx.sourceDir, "Procfile"));
    const processTypes = mergeProcessTypes(
      defaults,
      procfileText === null ? null : parseProcfile(procfileText),
    );
    if (Object.keys(processTypes).length === 0) {
      throw new BuildFailed(
        "no process types: the buildpacks declared none; add a Procfile (e.g. `web: ./start.sh`)",
      );
    }
    log("-----> Discovering process types");
    log(
      `       Procfile declares types     -> ${procfileText === null ? "(none)" : Object.keys(parseProcfile(procfileText)).join(", ") || "(none)"}`,
    );
    log(
      `       Default types for buildpack -> ${Object.keys(Object.assign({}, ...defaults)).join(", ") || "(none)"}`,
    );

    log(`-----> Building image ${ctx.imageTag} on ${stack.run}`);
    const slug = await commitSlugImage({
      docker,
      namespace: settings.namespace,
      app: ctx.app,
      release: ctx.release,
      runImage: stack.run,
      slugDir: ctx.sourceDir,
      imageTag: ctx.imageTag,
      processTypes,
      helperLabels: ctx.labels,
      imageLabels: {
        ...ctx.labels,
        [LABEL.processTypes]: JSON.stringify(processTypes),
        "paas.buildpacks": names.join(","),
        "paas.stack": stack.run,
      },
    });
    const info = await docker.images.inspect(ctx.imageTag);
    if (slug.vendorReused !== null) {
      log(
        slug.vendorReused
          ? "       dependency layer unchanged: reused"
          : "       dependency layer built (reused by later builds until dependencies change)",
      );
    }
    log(`       slug ${mb(slug.bytes)}, image ${info ? mb(info.Size) : "?"} (run stack shared between apps)`);
    return { image: ctx.imageTag, processTypes, port: DEFAULT_PORT };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function outwardLinksFail(dir: string): Promise<void> {
  try {
    await checkTree(dir);
  } catch (err) {
    if (err instanceof UnsafeSource) throw new BuildFailed(err.message);
    throw err;
  }
}

async function noLinkOut(dir: string, name: string): Promise<void> {
  const file = path.join(dir, name);
  const st = await fsp.lstat(file).catch(() => null);
  if (st?.isSymbolicLink() && !isInside(dir, file))
    throw new BuildFailed(
      `${name} is a link to a path outside the app (${await fsp.readlink(file)}): make it a file`,
    );
}
