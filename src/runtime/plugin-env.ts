import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedLabels } from "../docker/labels.js";
import type { ContainerEnvResult } from "../plugins/catalog.js";
import type { PluginHost } from "../plugins/host.js";
import { chownVolumeForImage } from "./volume-owner.js";

// The `container-env` trigger around a container's plan: ask the plugins first (their answers
// are plain data that planContainer takes), make the volumes and networks they name (labelled,
// so the platform can prove it owns them), and after create join the networks past the first
// (Docker before API 1.44 takes one network at create).

export type ContainerExtras = Required<ContainerEnvResult>;

export const NO_EXTRAS: ContainerExtras = { env: {}, mounts: [], networks: [] };

/**
 * Merge plugins' answers in order: later env wins; one mount per target; one entry per network
 * (aliases joined), the first primary one first and marked, the rest not.
 */
export function mergeContainerEnv(results: ContainerEnvResult[]): ContainerExtras {
  const env: Record<string, string> = {};
  const mounts = new Map<string, ContainerExtras["mounts"][number]>();
  const networks = new Map<string, Set<string>>();
  let primary: string | undefined;
  for (const r of results) {
    for (const [k, v] of Object.entries(r.env ?? {})) env[k] = String(v);
    for (const m of r.mounts ?? []) mounts.set(m.target, m);
    for (const n of r.networks ?? []) {
      if (n.primary && primary === undefined) primary = n.name;
      const aliases = networks.get(n.name) ?? new Set<string>();
      for (const a of n.aliases ?? []) aliases.add(a);
      networks.set(n.name, aliases);
    }
  }
  return {
    env,
    mounts: [...mounts.values()],
    networks: [...networks]
      .map(([name, aliases]) => ({ name, aliases: [...aliases], primary: name === primary }))
      .sort((a, b) => Number(b.primary) - Number(a.primary)),
  };
}

/** Ask every plugin handling container-env; no host: nothing extra. */
export async function containerExtras(
  plugins: PluginHost | undefined,
  args: { app: string; type: string; index: number; kind: "process" | "oneoff"; version: number },
): Promise<ContainerExtras> {
  if (!plugins) return NO_EXTRAS;
  const answers = await plugins.fire("container-env", args);
  return mergeContainerEnv(answers.map((a) => a.result ?? {}));
}

/**
 * Create (once) the named volumes and the networks the container needs, labelled as ours. A
 * volume created here is handed to the user `image` runs as (volume-owner.ts); if that fails
 * the volume goes again (it is new and empty), so the next container tries again.
 */
export async function prepareExtras(
  docker: DockerParts,
  namespace: string,
  app: string,
  extras: ContainerExtras,
  image?: string | null,
): Promise<void> {
  for (const m of extras.mounts) {
    if (m.type !== "volume") continue;
    const created = await docker.volumes.ensure(
      m.source,
      ownedLabels(namespace, { [LABEL.app]: app, [LABEL.kind]: "volume" }),
    );
    if (created && image) {
      await chownVolumeForImage(docker, namespace, app, m.source, image).catch(async (err) => {
        await docker.volumes.remove(m.source).catch(() => {});
        throw err;
      });
    }
  }
  for (const n of extras.networks) {
    await docker.networks.ensure(n.name, ownedLabels(namespace, { [LABEL.kind]: "network" }));
  }
}

/** Join the networks but the primary one (the container's NetworkMode, set at create). */
export async function connectExtraNetworks(
  docker: DockerParts,
  id: string,
  extras: ContainerExtras,
): Promise<void> {
  for (const n of extras.networks) if (!n.primary) await docker.networks.connect(n.name, id, n.aliases);
}
