import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { BuildFailed } from "../errors.js";
import { buildNetwork } from "./build-network.js";
import { packContext } from "./context.js";
import {
  BUILD_DIR,
  CA_IN_CONTEXT,
  injectBuildCa,
  portFromExposed,
  proxyBuildArgs,
  userStepFilter,
} from "./dockerfile-plan.js";
import { parseProcfile } from "./procfile.js";
import type { BuildContext, Builder, BuildResult } from "./types.js";

const DOCKER_NOISE =
  /^\s*(---> Running in [0-9a-f]+|---> [0-9a-f]{12}|Removing intermediate container [0-9a-f]+)\s*$/;

/** Builds the app's own Dockerfile. Process types: web = the image's CMD, plus any Procfile. */
export const dockerfileBuilder: Builder = {
  name: "dockerfile",

  async detect(sourceDir: string): Promise<boolean> {
    return fs.existsSync(path.join(sourceDir, "Dockerfile"));
  },

  async build(ctx: BuildContext): Promise<BuildResult> {
    const dir = ctx.sourceDir;
    const dockerfilePath = path.join(dir, "Dockerfile");
    if (!fs.existsSync(dockerfilePath)) {
      throw new BuildFailed(
        "this app is set to build with a Dockerfile, but the repository has none at its root",
      );
    }
    let dockerfile = await fsp.readFile(dockerfilePath, "utf8");
    await fsp.mkdir(path.join(dir, BUILD_DIR), { recursive: true });
    if (ctx.settings.buildCaBundle) {
      await fsp.copyFile(ctx.settings.buildCaBundle, path.join(dir, CA_IN_CONTEXT));
      dockerfile = injectBuildCa(dockerfile);
    }
    const generated = `${BUILD_DIR}/Dockerfile`;
    await fsp.writeFile(path.join(dir, generated), dockerfile);

    ctx.log("-----> Building with the app's Dockerfile");
    // RUN steps as the Dockerfile says (root by default), never with the Docker socket, and on
    // a network that cannot reach this host unless the operator allows it (build-network.ts).
    const networkMode = await buildNetwork(ctx.docker, ctx.settings, ctx.log);
    const shown = userStepFilter(dockerfile, ctx.labels);
    const context = await packContext(dir, [BUILD_DIR, "Dockerfile", ".dockerignore"]);
    await buildOrExplain(() =>
      ctx.docker.images.build(
        context,
        {
          tag: ctx.imageTag,
          labels: ctx.labels,
          dockerfile: generated,
          networkMode,
          buildargs: proxyBuildArgs({
            http: ctx.settings.buildHttpProxy,
            https: ctx.settings.buildHttpsProxy,
            no: ctx.settings.buildNoProxy,
          }),
        },
        (line) => {
          // Keep the log about the app's steps, not Docker's bookkeeping.
          const visible = shown(line);
          if (visible !== null && !DOCKER_NOISE.test(visible)) ctx.log(`       ${visible}`);
        },
      ),
    );

    const info = await ctx.docker.images.inspect(ctx.imageTag);
    const processTypes: Record<string, string> = { web: "" };
    const procfile = path.join(dir, "Procfile");
    if (fs.existsSync(procfile))
      Object.assign(processTypes, parseProcfile(await fsp.readFile(procfile, "utf8")));
    return { image: ctx.imageTag, processTypes, port: portFromExposed(info?.Config?.ExposedPorts) };
  },
};

/** Images this platform builds locally, for Dockerfile FROM lines when no registry is reachable. */
export const LOCAL_BASE_IMAGES = [
  "paas/debian:bookworm (also debian:bookworm, debian:bookworm-slim)",
  "paas/busybox:latest",
  "paas/stack-run:latest",
  "paas/stack-build:latest",
];

const PULL_FAILED =
  /pull access denied|manifest unknown|repository does not exist|failed to resolve|dial tcp|no such host|TLS handshake|i\/o timeout|server misbehaving/i;

/** A FROM image that cannot be pulled gets a message naming the images that exist here. */
async function buildOrExplain(build: () => Promise<unknown>): Promise<void> {
  try {
    await build();
  } catch (err) {
    if (err instanceof BuildFailed && PULL_FAILED.test(err.message)) {
      throw new BuildFailed(
        `${err.message} -- the base image could not be pulled (no registry may be reachable): use a local one in FROM: ${LOCAL_BASE_IMAGES.join(", ")}`,
      );
    }
    // Every line was already shown, the app's steps numbered as its Dockerfile has them: Docker's
    // raw tail (the injected CA steps, numbered as Docker counts them, and its bookkeeping) would
    // only repeat it, wrongly numbered.
    if (err instanceof BuildFailed) throw new BuildFailed(err.message);
    throw err;
  }
}
