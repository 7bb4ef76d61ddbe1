import type { Settings } from "../../config.js";
import { LABEL, ownedLabels } from "../../docker/labels.js";
import type { Services } from "../../docker/services.js";
import type { ContainerExtras } from "../plugin-env.js";
import type { Runtime } from "../runtime.js";

// The `container-env` trigger for a Swarm service, through the runtime as for a container (so
// a named volume is also made on the manager's engine, where a volume-mounting service is
// pinned: scheduler.ts volumePin). A service has no slot of its own: the
// plugins are asked as for slots 1 and 2 and only what both answers share is kept, so an alias
// naming one slot (web.1.<app>.internal) is dropped and the type's (web.<app>.internal) stays.
// Networks must be swarm-scoped: the runtime made a bridge of the plugin's name on the
// manager's engine; tasks join an attachable overlay of the same name in Swarm's spelling (DNS
// labels: `ns.app.web` -> `ns-app-web`, swarmNetworkName). A plugin that runs a service of its
// own makes its network an overlay first (the addons plugin does, in its container-env).

/** The overlay's name for a plugin's network: Swarm refuses dots and the like in names. */
export function swarmNetworkName(name: string): string {
  return name.replace(/[^a-zA-Z0-9-]/g, "-").slice(0, 63);
}

/** What both slots' answers share: env and mounts of slot 1, aliases in both. */
export function sharedExtras(one: ContainerExtras, two: ContainerExtras): ContainerExtras {
  const aliasesOfTwo = new Map(two.networks.map((n) => [n.name, new Set(n.aliases)]));
  return {
    env: one.env,
    mounts: one.mounts,
    networks: one.networks.map((n) => ({
      ...n,
      aliases: (n.aliases ?? []).filter((a) => aliasesOfTwo.get(n.name)?.has(a)),
    })),
  };
}

export async function serviceExtras(
  runtime: Pick<Runtime, "pluginExtras">,
  services: Services,
  namespace: string,
  args: { app: string; type: string; version: number },
  log: (line: string) => void,
): Promise<ContainerExtras> {
  const ask = (index: number) =>
    runtime.pluginExtras(args.app, { type: args.type, index }, "process", args.version);
  const extras = sharedExtras(await ask(1), await ask(2));
  const networks: ContainerExtras["networks"] = [];
  const labels = ownedLabels(namespace, { [LABEL.kind]: "network" });
  for (const n of extras.networks) {
    const name = swarmNetworkName(n.name);
    if (await services.ensureSwarmNetwork(name, labels)) networks.push({ ...n, name });
    else log(` !     network ${name} exists on the manager's engine only: ${args.type} tasks cannot join it`);
  }
  return { ...extras, networks };
}

/**
 * A service mounting a named volume runs where that volume is: the manager's node (where
 * one-offs run too), until PAAS_SWARM_VOLUME_DRIVER names a driver spanning nodes.
 */
export async function volumePin(
  settings: Pick<Settings, "swarmVolumeDriver">,
  services: Pick<Services, "nodeId">,
  extras: { mounts: { type: string }[] },
): Promise<string[]> {
  if (settings.swarmVolumeDriver || !extras.mounts.some((m) => m.type === "volume")) return [];
  return [`node.id==${await services.nodeId()}`];
}
