// Swarm mode's add-on, as plain data: the exact Swarm service spec of one add-on. No I/O here:
// swarm.ts sends it to the manager's engine.
//
// Why a service and not a container on the manager: app tasks run on any node, and only a
// swarm-scoped (overlay) network reaches them all. The add-on's network becomes an attachable
// overlay of the same name the plugin hands apps through container-env, the service joins it
// with the aliases the URLs use (`<addon>.<app>.internal`), and Swarm's DNS answers those
// names on every node. One replica, pinned by placement to the node its named volume is on
// (a local volume exists on one node only), until a volume driver spanning nodes is set.

import { aliasesFor, addonLabels, containerName, networkName, SERVICES, volumeName } from "./plan.js";
import type { Addon } from "./types.js";

export interface AddonServiceInput {
  namespace: string;
  addon: Addon;
  /** The node the add-on is pinned to; null: anywhere (a volume driver spans nodes). */
  nodeId: string | null;
  /** PAAS_SWARM_VOLUME_DRIVER, in the volume's options; null: the node's local driver. */
  volumeDriver: string | null;
  /** The image reference the task runs (a registry's copy when it may land on another node). */
  image: string;
}

export function pinConstraint(nodeId: string): string {
  return `node.id==${nodeId}`;
}

/** The node id a service's constraints pin it to, if any. */
export function pinnedNode(constraints: string[] | undefined): string | null {
  const hit = (constraints ?? []).find((c) => /^node\.id\s*==\s*\S+$/.test(c));
  return hit ? hit.split("==")[1].trim() : null;
}

export function planAddonService(p: AddonServiceInput): Record<string, unknown> {
  const a = p.addon;
  const kind = SERVICES[a.service];
  const labels = addonLabels(p.namespace, a);
  return {
    Name: containerName(p.namespace, a.name),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: p.image,
        Env: kind.env(a),
        // On the task's container too: pg:* and redis:cli find it by these (find.ts).
        Labels: labels,
        Mounts: [
          {
            Type: "volume",
            Source: volumeName(p.namespace, a.name),
            Target: kind.dataPath,
            // Made by the node the task lands on, labelled as ours.
            VolumeOptions: {
              Labels: labels,
              ...(p.volumeDriver ? { DriverConfig: { Name: p.volumeDriver } } : {}),
            },
          },
        ],
        StopGracePeriod: 10e9,
      },
      // Like unless-stopped on one engine: a crashed or killed task is replaced.
      RestartPolicy: { Condition: "any", Delay: 2e9, MaxAttempts: 0 },
      Placement: { Constraints: p.nodeId ? [pinConstraint(p.nodeId)] : [] },
      Networks: [{ Target: networkName(p.namespace, a.name), Aliases: aliasesFor(a) }],
      LogDriver: { Name: "json-file", Options: { "max-size": "10m", "max-file": "2" } },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // One writer per data directory: the old task stops before the new one starts.
    UpdateConfig: { Parallelism: 1, Order: "stop-first", FailureAction: "pause" },
    // No IPVS here and no published port: DNS names the task itself, on the overlay only.
    EndpointSpec: { Mode: "dnsrr" },
  };
}
