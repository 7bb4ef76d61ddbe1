import path from "node:path";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import type { Store } from "../store/index.js";
import { PluginHost } from "./host.js";

export type { ContainerEnvResult, PsReportResult, TriggerArgs, TriggerName } from "./catalog.js";
export { PluginHost, PluginVeto } from "./host.js";

/** The repository's plugins/ folder (bundled plugins) and where `npm run build` compiles their TypeScript. */
export function bundledRoot(): { dir: string; compiledDir: string; bundled: true } {
  // dist/plugins/index.js -> <repo>/plugins and <repo>/dist-plugins/plugins
  const repo = path.resolve(import.meta.dirname, "..", "..");
  return {
    dir: path.join(repo, "plugins"),
    compiledDir: path.join(repo, "dist-plugins", "plugins"),
    bundled: true,
  };
}

/**
 * One host per role: the API's has no Docker (it only lists, manages and runs API-side
 * commands); a worker's has it (triggers of deploys, `worker: true` commands).
 */
export function createPluginHost(
  settings: Settings,
  store: Store,
  opts: {
    docker?: DockerParts;
    log?: (msg: string, ctx?: Record<string, unknown>) => void;
    env?: NodeJS.ProcessEnv;
  } = {},
): PluginHost {
  return new PluginHost({
    store,
    namespace: settings.namespace,
    roots: [bundledRoot()],
    timeoutMs: settings.pluginTimeout * 1000,
    // Plugins read the registry as the platform resolved it (setup's own when PAAS_REGISTRY
    // is unset in swarm mode), not only as the operator typed it.
    env: {
      ...(opts.env ?? process.env),
      ...(settings.registry ? { PAAS_REGISTRY: settings.registry } : {}),
    },
    docker: opts.docker,
    log: opts.log,
  });
}
