import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Settings } from "../../config.js";
import type { ContainerSpec } from "../../docker/containers.js";
import { type BuildpackSelection, runnerSpec } from "./select.js";

// Plans for a buildpack build, as plain data: the compile container's create options and
// the slug image's Dockerfile. The executor (build.ts) only sends them to Docker.

/** Repository root, from src/builder/buildpacks (tsx/vitest) or dist/builder/buildpacks. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const BUNDLED_DIR = path.join(REPO_ROOT, "buildpacks");
export const SLUG_TEMPLATES = path.join(REPO_ROOT, "templates", "slug");

/** Compile runs as this uid (never root); the slug's files belong to it at run time too. */
export const BUILD_UID = 1000;
/** The port a buildpack app listens on when the platform sets no PORT. */
export const DEFAULT_PORT = 5000;

/** Where things are inside the build container. */
export const IN_CONTAINER = {
  app: "/app",
  cache: "/cache",
  env: "/paas/env",
  out: "/paas/out",
  runner: "/paas/compile.sh",
  bundled: "/paas/buildpacks",
  ca: "/etc/paas/ca-certificates.crt",
} as const;

export interface CompileHostPaths {
  /** The exported commit: compiled in place, then it is the slug. */
  buildDir: string;
  cacheDir: string;
  envDir: string;
  outDir: string;
  /** file:// buildpacks: the URL's path -> a host copy made for this build (never the original). */
  localBuildpacks?: Record<string, string>;
}

export interface CompilePlanInput {
  name: string;
  image: string;
  selection: BuildpackSelection;
  paths: CompileHostPaths;
  labels: Record<string, string>;
  settings: Pick<Settings, "buildCaBundle" | "buildHttpProxy" | "buildHttpsProxy" | "buildNoProxy">;
  stack: string;
  /** Build memory limit, bytes (0: none). */
  memory?: number;
  /** The network the compile runs on (build-network.ts; undefined: Docker's default bridge). */
  networkMode?: string;
}

/** Environment for the trusted-CA bundle and proxies: the same variables every tool reads. */
export function networkEnv(settings: CompilePlanInput["settings"]): string[] {
  const env: string[] = [];
  if (settings.buildCaBundle) {
    for (const name of [
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "PIP_CERT",
      "REQUESTS_CA_BUNDLE",
      "GIT_SSL_CAINFO",
      "CURL_CA_BUNDLE",
    ]) {
      env.push(`${name}=${IN_CONTAINER.ca}`);
    }
  }
  const proxies: [string, string | null][] = [
    ["HTTP_PROXY", settings.buildHttpProxy],
    ["HTTPS_PROXY", settings.buildHttpsProxy],
    ["NO_PROXY", settings.buildNoProxy],
  ];
  for (const [name, value] of proxies) {
    if (value) env.push(`${name}=${value}`, `${name.toLowerCase()}=${value}`);
  }
  return env;
}

/**
 * The compile container: build stack image, uid 1000, no Docker socket, all capabilities
 * dropped; the app at /app, the per-app cache at /cache, config vars as files in ENV_DIR,
 * the host's CA bundle read-only. A file:// buildpack repository is mounted read-only at
 * its own path so `git clone file://...` works inside.
 */
export function compileContainerSpec(input: CompilePlanInput): ContainerSpec {
  const { paths, selection, settings } = input;
  const binds = [
    `${paths.buildDir}:${IN_CONTAINER.app}`,
    `${paths.cacheDir}:${IN_CONTAINER.cache}`,
    `${paths.envDir}:${IN_CONTAINER.env}:ro`,
    `${paths.outDir}:${IN_CONTAINER.out}`,
    `${path.join(SLUG_TEMPLATES, "compile.sh")}:${IN_CONTAINER.runner}:ro`,
    `${BUNDLED_DIR}:${IN_CONTAINER.bundled}:ro`,
  ];
  if (settings.buildCaBundle) binds.push(`${settings.buildCaBundle}:${IN_CONTAINER.ca}:ro`);
  // A file:// buildpack is mounted from a copy cloned for this build, so a URL can never
  // expose an arbitrary host path (such as the Docker socket) to the build.
  for (const [original, copy] of Object.entries(paths.localBuildpacks ?? {}))
    binds.push(`${copy}:${original}:ro`);
  const env = [
    `BUILD_DIR=${IN_CONTAINER.app}`,
    `CACHE_DIR=${IN_CONTAINER.cache}`,
    `ENV_DIR=${IN_CONTAINER.env}`,
    `OUT_DIR=${IN_CONTAINER.out}`,
    `BUNDLED_DIR=${IN_CONTAINER.bundled}`,
    "HOME=/tmp",
    "LANG=C.UTF-8",
    `STACK=${input.stack}`,
    "GIT_TERMINAL_PROMPT=0",
    ...networkEnv(settings),
  ];
  return {
    name: input.name,
    Image: input.image,
    User: `${BUILD_UID}:${BUILD_UID}`,
    WorkingDir: IN_CONTAINER.app,
    Cmd: ["bash", IN_CONTAINER.runner, selection.mode, ...selection.refs.map(runnerSpec)],
    Env: env,
    Labels: input.labels,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      Binds: binds,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Memory: input.memory || undefined,
      NetworkMode: input.networkMode,
      AutoRemove: false,
    },
  };
}

/** "web: npm start" lines for /etc/paas/process-types (read by the entrypoint). */
export function processTypesFile(types: Record<string, string>): string {
  return Object.entries(types)
    .map(([name, command]) => `${name}: ${command.replace(/\r?\n/g, " ")}\n`)
    .join("");
}
