import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedLabels } from "../docker/labels.js";
import { runAndCommit } from "../docker/snapshot.js";
import { DeployFailed } from "../errors.js";
import { type Release, releaseTag } from "../store/releases.js";
import { appContainerLimits } from "./hardening.js";
import { containerName } from "./plan.js";

// app.json scripts.dokku.predeploy (Dokku's meaning): after the build and before any
// container is scheduled, the command runs in a one-off container of the built image and,
// if it succeeds, that container's filesystem is committed as the release image (same tag,
// same CMD/ENTRYPOINT/ENV/labels/WORKDIR/USER). The Procfile `release` command runs after
// it, in the deploy, and its changes are not kept.

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `KEY='value'` lines a POSIX shell can eval: single quotes, with ' written as '\''. */
export function shellEnv(vars: Record<string, string>): string {
  return Object.entries(vars)
    .filter(([k]) => ENV_NAME.test(k))
    .map(([k, v]) => `${k}='${v.replaceAll("'", "'\\''")}'\n`)
    .join("");
}

/** Split "ns/app:v3" into repo and tag. */
export function splitImageRef(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(":");
  if (colon <= ref.lastIndexOf("/")) return { repo: ref, tag: "latest" };
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/**
 * Run the release's predeploy script and commit its changes into release.image. Does nothing
 * without one; throws DeployFailed (nothing changed) when it fails.
 */
export async function commitPredeploy(
  deps: { settings: Settings; docker: DockerParts },
  app: string,
  release: Release,
  log: (line: string) => void,
): Promise<void> {
  const command = release.appJson?.scripts.predeploy;
  if (!command || !release.image) return;
  const image = await deps.docker.images.inspect(release.image);
  if (!image) throw new DeployFailed(`the built image ${release.image} is gone; push again`);
  const tag = releaseTag(release.version);
  log(`-----> Running predeploy script (changes are kept in the image): ${command}`);
  const result = await runAndCommit(
    deps.docker.raw,
    {
      name: containerName(
        deps.settings.namespace,
        app,
        { type: "predeploy", index: 1 },
        `${tag}-${Date.now().toString(36)}`,
      ),
      Image: release.image,
      // Config vars arrive on stdin, not in Env: `docker commit` would keep Env in the image.
      Cmd: ["/bin/sh", "-c", 'set -a; eval "$(cat)"; set +a; exec /bin/sh -c "$0"', command],
      // Only keys the image already has: `docker commit` adds the container's other labels.
      Labels: ownedLabels(deps.settings.namespace, {
        [LABEL.app]: app,
        [LABEL.release]: tag,
        [LABEL.kind]: "oneoff",
      }),
      HostConfig: {
        Memory: deps.settings.defaultMemory,
        ...appContainerLimits(deps.settings.pidsLimit),
        RestartPolicy: { Name: "no" },
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      },
    },
    shellEnv({ ...release.config, PAAS_APP: app, PAAS_RELEASE: tag, DYNO: "predeploy.1" }),
    (l) => log(`       ${l}`),
    {
      ...splitImageRef(release.image),
      config: {
        ...image.Config,
        Labels: {
          ...(image.Config.Labels ?? {}),
          ...ownedLabels(deps.settings.namespace, {
            [LABEL.app]: app,
            [LABEL.release]: tag,
            [LABEL.kind]: "release",
          }),
        },
      },
    },
  );
  if (result.exitCode !== 0 || !result.imageId) {
    throw new DeployFailed(
      // Its output was streamed above: the failure does not repeat its last lines.
      `predeploy script failed with exit code ${result.exitCode}; nothing was changed`,
    );
  }
  log("-----> Predeploy changes committed to the release image");
}
