import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { pack as tarPack } from "tar-fs";
import tarStream from "tar-stream";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL } from "../docker/labels.js";
import { PaasError } from "../errors.js";

// The stack: two images the platform builds itself from Debian packages (no registry
// needed), FROM the base image scripts/setup.sh makes. `build` runs bin/compile; `run` is
// what every buildpack app image starts from. Bump STACK_VERSION (and
// scripts/images/stack/VERSION, which setup.sh reads) whenever the Dockerfiles change:
// images are looked up by that tag, so a bump rebuilds them.

export const STACK_VERSION = "1";
export const STACK_BASE_IMAGE = "paas/debian:bookworm";
export const STACK_REPOS = { build: "paas/stack-build", run: "paas/stack-run" } as const;
export type StackFlavour = keyof typeof STACK_REPOS;
const FLAVOURS: StackFlavour[] = ["build", "run"];

const STACK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/images/stack");
/** Label prefix of the versions recorded at stack build time: paas.stack.node=18.20.4 ... */
export const STACK_LABEL_PREFIX = "paas.stack.";

export interface StackImages {
  build: string;
  run: string;
}

/** The images builds use: the operator's (PAAS_STACK_*_IMAGE) or ours at STACK_VERSION. */
export function stackImages(settings: Pick<Settings, "stackBuildImage" | "stackRunImage">): StackImages {
  return {
    build: settings.stackBuildImage || `${STACK_REPOS.build}:${STACK_VERSION}`,
    run: settings.stackRunImage || `${STACK_REPOS.run}:${STACK_VERSION}`,
  };
}

/** `node=18.20.4` lines (scripts/images/stack/versions.sh) -> { node: "18.20.4" }. */
export function parseVersionLines(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const m = /^([a-z0-9_-]+)=(.*)$/.exec(line.trim());
    if (m && m[2] !== "") out[m[1]] = m[2];
  }
  return out;
}

type Log = (line: string) => void;

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function filesUnder(dir: string, rel = "."): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...filesUnder(dir, p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * The stack's recipe label (paas.recipe): the same value scripts/images/lib.sh recipe_hash
 * computes in scripts/setup.sh (`cd stack && recipe_hash . -- base=<id>`), so an image built
 * here counts as current there and the reverse.
 */
export function stackRecipe(baseImageId: string, dir = STACK_DIR): string {
  const files = filesUnder(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const listing = files.map((f) => `${sha256(fs.readFileSync(path.join(dir, f)))}  ${f}\n`).join("");
  return sha256(`${listing}base=${baseImageId}\n`).slice(0, 16);
}

function stackLabels(flavour: StackFlavour): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.kind]: "stack",
    [`${STACK_LABEL_PREFIX}flavour`]: flavour,
    [`${STACK_LABEL_PREFIX}version`]: STACK_VERSION,
  };
}

function buildArgs(settings: Settings): Record<string, string> {
  const args: Record<string, string> = {
    BASE: STACK_BASE_IMAGE,
    MIRROR: settings.stackMirror,
    STACK_VERSION,
  };
  // Docker passes these predefined build args to RUN steps (apt-get behind a proxy).
  if (settings.buildHttpProxy) args.http_proxy = settings.buildHttpProxy;
  if (settings.buildHttpsProxy) args.https_proxy = settings.buildHttpsProxy;
  if (settings.buildNoProxy) args.no_proxy = settings.buildNoProxy;
  return args;
}

/** Build one flavour at STACK_VERSION (and :latest), recording installed versions as labels. */
async function buildFlavour(
  docker: DockerParts,
  settings: Settings,
  flavour: StackFlavour,
  baseId: string,
  log: Log,
): Promise<string> {
  const tag = `${STACK_REPOS[flavour]}:${STACK_VERSION}`;
  const labels = { ...stackLabels(flavour), "paas.recipe": stackRecipe(baseId) };
  log(
    `-----> Building stack image ${tag} from ${STACK_BASE_IMAGE} (Debian packages from ${settings.stackMirror})`,
  );
  await docker.images.build(
    tarPack(STACK_DIR) as unknown as Readable,
    { tag, labels, dockerfile: `Dockerfile.${flavour}`, buildargs: buildArgs(settings) },
    (line) => log(`       ${line}`),
  );
  // Versions are only known once the packages are installed: read them from the image and
  // stamp them on as labels with a metadata-only rebuild (no new layer).
  const lines: string[] = [];
  const run = await docker.containers.runToCompletion(
    {
      name: `paas-stack-versions-${flavour}-${Date.now().toString(36)}`,
      Image: tag,
      Cmd: ["/usr/local/bin/paas-stack-versions"],
      Labels: labels,
      HostConfig: { NetworkMode: "none" },
    },
    (line) => lines.push(line),
  );
  if (run.exitCode !== 0)
    throw new PaasError("internal", `stack image ${tag}: version probe exited ${run.exitCode}`);
  const versions = parseVersionLines(lines);
  const versionLabels: Record<string, string> = { ...labels };
  for (const [k, v] of Object.entries(versions)) versionLabels[`${STACK_LABEL_PREFIX}${k}`] = v;
  const context = tarStream.pack();
  context.entry({ name: "Dockerfile" }, `FROM ${tag}\n`);
  context.finalize();
  await docker.images.build(context as unknown as Readable, { tag, labels: versionLabels }, () => {});
  await docker.images.tag(tag, STACK_REPOS[flavour], "latest");
  log(
    `       ${tag}: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  return tag;
}

async function requireBase(docker: DockerParts): Promise<string> {
  const base = await docker.images.inspect(STACK_BASE_IMAGE);
  if (!base) {
    throw new PaasError(
      "unavailable",
      `base image ${STACK_BASE_IMAGE} is missing: run \`npm run setup\` (scripts/setup.sh) to build it`,
    );
  }
  return base.Id;
}

/** Rebuild our stack images (`paas stack:build`), both flavours unless told otherwise. */
export async function buildStackImages(
  docker: DockerParts,
  settings: Settings,
  log: Log,
  flavours: StackFlavour[] = FLAVOURS,
): Promise<StackImages> {
  const baseId = await requireBase(docker);
  for (const flavour of flavours) await buildFlavour(docker, settings, flavour, baseId, log);
  return stackImages(settings);
}

let ensuring: Promise<StackImages> | null = null;

/**
 * Make sure the stack images builds need exist: ours are built when missing (once, even
 * with concurrent builds); an operator's image that is missing is an error, since pulling
 * is the operator's business.
 */
export async function ensureStackImages(
  docker: DockerParts,
  settings: Settings,
  log: Log,
): Promise<StackImages> {
  const images = stackImages(settings);
  const missing: StackFlavour[] = [];
  for (const flavour of FLAVOURS) {
    if (await docker.images.inspect(images[flavour])) continue;
    const override = flavour === "build" ? settings.stackBuildImage : settings.stackRunImage;
    if (override) {
      const setting = flavour === "build" ? "PAAS_STACK_BUILD_IMAGE" : "PAAS_STACK_RUN_IMAGE";
      throw new PaasError(
        "unavailable",
        `${setting}=${override} is not on this Docker engine: pull or load it first`,
      );
    }
    missing.push(flavour);
  }
  if (missing.length === 0) return images;
  if (!ensuring) {
    log(`-----> Stack images missing (${missing.join(", ")}): building them once, this takes a few minutes`);
    ensuring = buildStackImages(docker, settings, log, missing).finally(() => {
      ensuring = null;
    });
  }
  await ensuring;
  return images;
}

export interface StackImageInfo {
  image: string;
  present: boolean;
  id?: string;
  created?: string;
  sizeBytes?: number;
  /** Stack version the image was built at (ours), if recorded. */
  version?: string;
  /** What is installed: node, npm, python, pip, go, gcc, git, debian (as recorded). */
  packages: Record<string, string>;
}

/** What is installed in the stack images (`paas stack`), from their labels. */
export async function stackInfo(
  docker: DockerParts,
  settings: Settings,
): Promise<{ stackVersion: string; build: StackImageInfo; run: StackImageInfo }> {
  const images = stackImages(settings);
  const describe = async (image: string): Promise<StackImageInfo> => {
    const info = await docker.images.inspect(image);
    if (!info) return { image, present: false, packages: {} };
    const labels = info.Config?.Labels ?? {};
    const packages: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) {
      if (!k.startsWith(STACK_LABEL_PREFIX)) continue;
      const key = k.slice(STACK_LABEL_PREFIX.length);
      if (key !== "version" && key !== "flavour") packages[key] = v;
    }
    return {
      image,
      present: true,
      id: info.Id,
      created: info.Created,
      sizeBytes: info.Size,
      version: labels[`${STACK_LABEL_PREFIX}version`],
      packages,
    };
  };
  return {
    stackVersion: STACK_VERSION,
    build: await describe(images.build),
    run: await describe(images.run),
  };
}
