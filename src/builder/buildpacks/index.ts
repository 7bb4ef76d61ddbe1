import fsp from "node:fs/promises";
import type { Builder } from "../types.js";
import { buildWithBuildpacks } from "./build.js";
import { BUNDLED_BUILDPACKS, type BundledBuildpack } from "./select.js";

export { stackInfo } from "../stack.js";
export { nothingDetected, parseBuildpackRef, parseBuildpacksFile } from "./select.js";

/**
 * Heroku buildpack API v2 builds on the stack images. detect() is always true: it is the
 * catch-all after the Dockerfile builder, because BUILDPACK_URL (a config var) or a custom
 * git buildpack can build what no bundled bin/detect recognises — and when nothing does,
 * build() fails with the list of what each bundled buildpack looks for.
 */
export const buildpacksBuilder: Builder = {
  name: "buildpacks",
  detect: async () => true,
  build: buildWithBuildpacks,
};

/** The bundled buildpacks, in auto-detection order, with what each looks for. */
export function listBundledBuildpacks(): BundledBuildpack[] {
  return BUNDLED_BUILDPACKS.map((b) => ({ ...b }));
}

/** `paas repo:purge-cache`: empty an app's build cache (the directory itself stays). */
export async function purgeCache(cacheDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fsp.readdir(cacheDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await Promise.all(entries.map((e) => fsp.rm(`${cacheDir}/${e}`, { recursive: true, force: true })));
}
