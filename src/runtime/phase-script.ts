import type { Settings } from "../config.js";
import type { RunResult } from "../docker/containers.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL } from "../docker/labels.js";
import { type Release, releaseTag } from "../store/releases.js";
import { containerName, planContainer } from "./plan.js";

/**
 * Run a deployment script (app.json scripts.postdeploy) in a one-off container of the
 * release's image, with its config, streaming its output into the push; its changes are
 * not kept. Returns the exit code and last lines.
 */
export async function runPhaseScript(
  deps: { settings: Settings; docker: DockerParts },
  app: string,
  release: Release,
  phase: string,
  command: string,
  log: (line: string) => void,
): Promise<RunResult> {
  const slot = { type: phase, index: 1 };
  const spec = planContainer({
    namespace: deps.settings.namespace,
    app,
    release: { ...release, processTypes: { ...release.processTypes, [phase]: command } },
    slot,
    memory: deps.settings.defaultMemory,
    pidsLimit: deps.settings.pidsLimit,
    name: containerName(
      deps.settings.namespace,
      app,
      slot,
      `${releaseTag(release.version)}-${Date.now().toString(36)}`,
    ),
  });
  spec.Labels = { ...spec.Labels, [LABEL.kind]: "oneoff" };
  spec.HostConfig = { ...spec.HostConfig, RestartPolicy: { Name: "no" }, PortBindings: undefined };
  spec.ExposedPorts = undefined;
  return deps.docker.containers.runToCompletion(spec, (l) => log(`       ${l}`), 15 * 60_000);
}
