import { BuildFailed } from "../../errors.js";

// Which buildpacks a build uses, decided from plain data: the app's buildpack setting, the
// BUILDPACK_URL config var, a `.buildpacks` file, else auto-detection over the bundled
// buildpacks in a fixed order. Pure functions; the executor turns the result into arguments
// for the in-container runner (templates/slug/compile.sh).

export interface BundledBuildpack {
  name: string;
  /** What its bin/detect looks for, as shown when nothing is detected. */
  detects: string;
}

/** Auto-detection order: the first whose bin/detect passes builds the app. */
export const BUNDLED_BUILDPACKS: readonly BundledBuildpack[] = [
  { name: "nodejs", detects: "package.json" },
  { name: "python", detects: "requirements.txt, pyproject.toml, Pipfile, setup.py or runtime.txt" },
  { name: "go", detects: "go.mod" },
  { name: "static", detects: "index.html or a public/ folder" },
  { name: "procfile", detects: "a Procfile (shell scripts, prebuilt binaries)" },
];

export type BuildpackRef =
  | { kind: "bundled"; name: string }
  | { kind: "git"; url: string; ref?: string /** host path of a file:// repository */; localPath?: string };

export interface BuildpackSelection {
  /** auto: the first detected of `refs` is used; all: every one, in order. */
  mode: "auto" | "all";
  refs: BuildpackRef[];
  /** Where the list came from, for the build log. */
  source: "app setting" | "BUILDPACK_URL" | ".buildpacks" | "auto-detect";
}

const GIT_URL = /^(https?:\/\/|git:\/\/|ssh:\/\/|file:\/\/|git\+https?:\/\/|[\w.-]+@[\w.-]+:)/;

/** "nodejs", "heroku/nodejs", "https://host/repo.git#v1", "file:///srv/bp#main" -> a ref. */
export function parseBuildpackRef(raw: string): BuildpackRef {
  const text = raw.trim();
  if (text === "") throw new BuildFailed("empty buildpack name");
  if (GIT_URL.test(text)) {
    const hash = text.indexOf("#");
    let url = hash >= 0 ? text.slice(0, hash) : text;
    const ref = hash >= 0 ? text.slice(hash + 1) : "";
    if (ref !== "" && !/^[\w./-]+$/.test(ref)) {
      throw new BuildFailed(`buildpack ${JSON.stringify(raw)} has an invalid git ref after "#"`);
    }
    if (url.startsWith("git+")) url = url.slice(4);
    const out: BuildpackRef = { kind: "git", url };
    if (ref) out.ref = ref;
    if (url.startsWith("file://")) {
      const parsed = new URL(url);
      out.localPath = decodeURIComponent(parsed.pathname).replace(/\/+$/, "") || "/";
    }
    return out;
  }
  const short = text.replace(/^(heroku|paas)\//, "").replace(/^heroku-buildpack-/, "");
  if (BUNDLED_BUILDPACKS.some((b) => b.name === short)) return { kind: "bundled", name: short };
  throw new BuildFailed(
    `unknown buildpack ${JSON.stringify(raw)}: use a git URL (https://..., file://...; #ref optional) ` +
      `or a bundled one: ${BUNDLED_BUILDPACKS.map((b) => b.name).join(", ")}`,
  );
}

/** A `.buildpacks` file: one buildpack per line; blank lines and # comments ignored. */
export function parseBuildpacksFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter((l) => l !== "");
}

export function chooseBuildpacks(input: {
  appBuildpacks?: string[];
  config: Record<string, string>;
  dotBuildpacks: string | null;
}): BuildpackSelection {
  if (input.appBuildpacks && input.appBuildpacks.length > 0) {
    return { mode: "all", refs: input.appBuildpacks.map(parseBuildpackRef), source: "app setting" };
  }
  const url = input.config.BUILDPACK_URL?.trim();
  if (url) return { mode: "all", refs: [parseBuildpackRef(url)], source: "BUILDPACK_URL" };
  if (input.dotBuildpacks !== null) {
    const lines = parseBuildpacksFile(input.dotBuildpacks);
    if (lines.length > 0) return { mode: "all", refs: lines.map(parseBuildpackRef), source: ".buildpacks" };
  }
  return {
    mode: "auto",
    refs: BUNDLED_BUILDPACKS.map((b) => ({ kind: "bundled", name: b.name })),
    source: "auto-detect",
  };
}

/** Argument for the runner: bundled:<name> | git:<url>[#ref]. */
export function runnerSpec(ref: BuildpackRef): string {
  return ref.kind === "bundled" ? `bundled:${ref.name}` : `git:${ref.url}${ref.ref ? `#${ref.ref}` : ""}`;
}

export function describeRef(ref: BuildpackRef): string {
  return ref.kind === "bundled" ? ref.name : `${ref.url}${ref.ref ? `#${ref.ref}` : ""}`;
}

/**
 * What a push is told when no buildpack recognises the app: the one-line reason, and the
 * list of what each bundled buildpack looks for as details, shown once (the worker streams
 * a failure's details into the push just before the reason).
 */
export function nothingDetected(): BuildFailed {
  return new BuildFailed(
    "no buildpack detected this app and it has no Dockerfile: add a file a bundled buildpack looks for, " +
      "or choose a buildpack with the BUILDPACK_URL config var, a .buildpacks file or `paas buildpacks:set <name|git-url>`",
    [
      "No buildpack detected this app. The bundled buildpacks look for:",
      ...BUNDLED_BUILDPACKS.map((b) => `  ${b.name.padEnd(9)} ${b.detects}`),
    ],
  );
}

/** The runner's own summary line, printed after every failed compile (not a reason). */
const RUNNER_SUMMARY = /^ !\s+(Build failed: .* exited with \d+|.* bin\/release failed)$/;

/**
 * A failed compile's one-line reason: the last " !     " line the buildpack printed (Heroku
 * buildpacks announce errors that way), else the exit code. The output itself was already
 * streamed line by line, so it is not repeated.
 */
export function compileFailureReason(exitCode: number, lastLines: string[]): string {
  for (let i = lastLines.length - 1; i >= 0; i--) {
    const line = lastLines[i].trimEnd();
    // Warnings are not why a build stopped.
    if (!/^ !\s+\S/.test(line) || RUNNER_SUMMARY.test(line) || /^ !\s+WARNING\b/.test(line)) continue;
    const reason = line.replace(/^ !\s+/, "").replace(/^ERROR:\s*/, "");
    if (reason !== "") return `buildpack compile failed: ${reason}`;
  }
  return `buildpack compile failed (exit code ${exitCode}); see the build output above`;
}
