import { LABEL, ownedLabels } from "../../docker/labels.js";
import type { ContainerEnvResult } from "../../plugins/catalog.js";
import { type Release, releaseTag } from "../../store/releases.js";

// Pure plans for swarm mode: an app + release + process type in, the exact Swarm service
// spec out. One service per process type and deploy generation: a deploy creates the new
// release's services next to the old ones, checks their tasks, moves the route, then
// removes the old services (blue/green, like the docker scheduler), so a failed check
// never touched what serves. In-place updates of a service (ps:restart, an operator's
// `docker service update`) follow UpdateConfig: start-first, rolled back on failure.

export const SWARM_LABEL = {
  /** Deploy generation of a service (release tag + a counter), so a restart is a new one. */
  generation: "paas.generation",
} as const;

export interface ServicePlanInput {
  namespace: string;
  app: string;
  release: Release;
  type: string;
  replicas: number;
  memory: number;
  cpus: number;
  pidsLimit: number;
  network: string;
  /** Placement constraints, e.g. node.labels.zone==a. */
  constraints: string[];
  /** Distinguishes two services of the same release (restart). */
  generation: string;
  /** Image reference to run (by digest when a registry is used). */
  image: string;
  stopGraceSeconds: number;
  /** Seconds a new task must stay up in an in-place update before the next one starts. */
  monitorSeconds: number;
  /** What plugins answered to `container-env` for the service (swarm/extras.ts), as plain data. */
  plugin?: ContainerEnvResult;
  /** Driver of plugins' named volumes (PAAS_SWARM_VOLUME_DRIVER); absent: the node's local one. */
  volumeDriver?: string | null;
}

/** Service names: <ns>-<app>-<type>-<generation>; Docker allows 63 characters. */
export function serviceName(namespace: string, app: string, type: string, generation: string): string {
  return `${namespace}-${app}-${type}-${generation}`.slice(0, 63).replace(/[^a-zA-Z0-9-]/g, "-");
}

export function planService(p: ServicePlanInput): Record<string, unknown> {
  const { release } = p;
  const tag = releaseTag(release.version);
  const command = release.processTypes[p.type] ?? "";
  const extra = p.plugin ?? {};
  const env: Record<string, string> = {
    // As on one engine: the app's config wins over a plugin's, the platform's over both.
    ...extra.env,
    ...release.config,
    PORT: String(release.port),
    PAAS_APP: p.app,
    PAAS_RELEASE: tag,
    PAAS_PROCESS_TYPE: p.type,
  };
  const labels = {
    [LABEL.app]: p.app,
    [LABEL.release]: tag,
    [LABEL.process]: p.type,
    [SWARM_LABEL.generation]: p.generation,
  };
  return {
    Name: serviceName(p.namespace, p.app, p.type, p.generation),
    Labels: ownedLabels(p.namespace, { ...labels, [LABEL.kind]: "service" }),
    TaskTemplate: {
      ContainerSpec: {
        Image: p.image,
        Args: command ? ["/bin/sh", "-c", command] : undefined,
        // Swarm expands the task's slot here: DYNO=web.2 as on one engine.
        Env: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `DYNO=${p.type}.{{.Task.Slot}}`],
        Labels: ownedLabels(p.namespace, { ...labels, [LABEL.kind]: "app" }),
        Init: true,
        StopGracePeriod: p.stopGraceSeconds * 1e9,
        Privileges: { NoNewPrivileges: true },
        CapabilityDrop: ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT"],
        // A named volume is made by the node the task lands on, labelled as ours.
        Mounts: extra.mounts?.length
          ? extra.mounts.map((m) => ({
              Type: m.type,
              Source: m.source,
              Target: m.target,
              ReadOnly: m.readOnly,
              ...(m.type === "volume"
                ? {
                    VolumeOptions: {
                      Labels: ownedLabels(p.namespace, { [LABEL.app]: p.app, [LABEL.kind]: "volume" }),
                      ...(p.volumeDriver ? { DriverConfig: { Name: p.volumeDriver } } : {}),
                    },
                  }
                : {}),
            }))
          : undefined,
      },
      Resources: {
        Limits: {
          MemoryBytes: p.memory,
          ...(p.cpus > 0 ? { NanoCPUs: Math.round(p.cpus * 1e9) } : {}),
          ...(p.pidsLimit > 0 ? { Pids: p.pidsLimit } : {}),
        },
      },
      // Like unless-stopped on one engine: a crashed task is replaced, with a back-off.
      RestartPolicy: { Condition: "any", Delay: 2e9, MaxAttempts: 0 },
      Placement: { Constraints: p.constraints },
      // The router and the checks reach the tasks on this network by address (no VIP: dnsrr).
      // Plugins' networks (swarm-scoped: extras.ts) with their aliases, e.g. web.<app>.internal.
      Networks: [
        { Target: p.network, Aliases: [`${p.app}-${p.type}`] },
        ...(extra.networks ?? [])
          .filter((n) => n.name !== p.network)
          .map((n) => ({ Target: n.name, Aliases: n.aliases ?? [] })),
      ],
      LogDriver: { Name: "json-file", Options: { "max-size": "10m", "max-file": "3" } },
    },
    Mode: { Replicated: { Replicas: p.replicas } },
    UpdateConfig: {
      Parallelism: 1,
      Delay: 0,
      Order: "start-first",
      FailureAction: "rollback",
      Monitor: p.monitorSeconds * 1e9,
      MaxFailureRatio: 0,
    },
    RollbackConfig: { Parallelism: 1, Order: "start-first", FailureAction: "pause" },
    // This kernel has no IPVS: no ingress routing mesh, no virtual IP. DNS round robin, and
    // nothing is published on the nodes' interfaces: the router is on the overlay network.
    EndpointSpec: { Mode: "dnsrr" },
  };
}
