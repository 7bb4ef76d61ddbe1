import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import type { AppName } from "../names.js";

/** Everything one build needs, as plain data plus the Docker door. */
export interface BuildContext {
  app: AppName;
  /** Release label, e.g. "v3". */
  release: string;
  /** Git commit sha being built. */
  commit: string;
  /** The exported commit (a throwaway directory the builder may modify). */
  sourceDir: string;
  /** Image tag to produce, e.g. paas/myapp:v3. */
  imageTag: string;
  /** Labels the produced image (and any helper container) must carry. */
  labels: Record<string, string>;
  /** The app's config vars (secrets: never log values). */
  config: Record<string, string>;
  /** Per-app persistent cache directory on the host (buildpacks). */
  cacheDir: string;
  /** Per-app builder settings: forced builder and buildpack list. */
  appBuild: { builder?: "dockerfile" | "buildpacks"; buildpacks?: string[] };
  settings: Settings;
  docker: DockerParts;
  /** User-facing build output, one line at a time (shown as "remote:" lines). */
  log: (line: string) => void;
}

export interface BuildResult {
  /** Image reference that was produced (the tag). */
  image: string;
  /** Process types: name -> command. Empty command means "the image's CMD". */
  processTypes: Record<string, string>;
  /** The port the web process listens on when known (Dockerfile EXPOSE). */
  port?: number;
}

/** Dockerfile and buildpacks builders sit behind this one interface (tried in order). */
export interface Builder {
  name: "dockerfile" | "buildpacks";
  detect(sourceDir: string): Promise<boolean>;
  build(ctx: BuildContext): Promise<BuildResult>;
}
