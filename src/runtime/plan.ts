import type { ContainerSpec } from "../docker/containers.js";
import { LABEL, ownedLabels } from "../docker/labels.js";
import type { ContainerEnvResult } from "../plugins/catalog.js";
import type { Release } from "../store/releases.js";
import { releaseTag } from "../store/releases.js";
import { appContainerLimits, checkAppSpec } from "./hardening.js";

// Pure plans: an app + release + process slot in, the exact dockerode create options out.

export interface Slot {
  type: string;
  index: number;
}

export function containerName(namespace: string, app: string, slot: Slot, suffix?: string): string {
  const base =
    namespace === "paas"
      ? `${app}.${slot.type}.${slot.index}`
      : `${namespace}.${app}.${slot.type}.${slot.index}`;
  return suffix ? `${base}.${suffix}` : base;
}

export interface PlanInput {
  namespace: string;
  app: string;
  release: Release;
  slot: Slot;
  memory: number;
  /** Name to create the container under (a temporary one while the old slot holder runs). */
  name: string;
  /** CPU limit in cores (0: none). */
  cpus?: number;
  /** Processes the container may run (PAAS_PIDS_LIMIT; default 512). */
  pidsLimit?: number;
  /** What plugins answered to `container-env` (merged; runtime/plugin-env.ts), as plain data. */
  plugin?: ContainerEnvResult;
}

export function planContainer(p: PlanInput): ContainerSpec {
  const { release, slot } = p;
  if (!release.image) throw new Error("release has no image");
  const command = release.processTypes[slot.type] ?? "";
  const isWeb = slot.type === "web";
  const extra = p.plugin ?? {};
  const env: Record<string, string> = {
    // The app's own config wins over what a plugin suggests; the platform's variables win over both.
    ...extra.env,
    ...release.config,
    PORT: String(release.port),
    DYNO: `${slot.type}.${slot.index}`,
    PAAS_APP: p.app,
    PAAS_RELEASE: releaseTag(release.version),
    PAAS_PROCESS_TYPE: slot.type,
  };
  const exposed = `${release.port}/tcp`;
  // A primary network is the container's own (instead of the default bridge); the rest are
  // joined after create. A user-defined network still publishes ports: the router is unchanged.
  const network = extra.networks?.find((n) => n.primary);
  // No Docker socket, no host network, no privileges: checked on every plan (hardening.ts).
  return checkAppSpec({
    name: p.name,
    Image: release.image,
    Cmd: command ? ["/bin/sh", "-c", command] : undefined,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: ownedLabels(p.namespace, {
      [LABEL.app]: p.app,
      [LABEL.release]: releaseTag(release.version),
      [LABEL.process]: slot.type,
      [LABEL.instance]: String(slot.index),
      [LABEL.kind]: "app",
    }),
    ExposedPorts: isWeb ? { [exposed]: {} } : undefined,
    NetworkingConfig: network
      ? { EndpointsConfig: { [network.name]: { Aliases: network.aliases ?? [] } } }
      : undefined,
    HostConfig: {
      NetworkMode: network?.name,
      Mounts: extra.mounts?.length
        ? extra.mounts.map((m) => ({
            Type: m.type,
            Source: m.source,
            Target: m.target,
            ReadOnly: m.readOnly,
          }))
        : undefined,
      // Published on loopback only: the router is the way in.
      PortBindings: isWeb ? { [exposed]: [{ HostIp: "127.0.0.1", HostPort: "" }] } : undefined,
      Memory: p.memory,
      NanoCpus: p.cpus ? Math.round(p.cpus * 1e9) : undefined,
      RestartPolicy: { Name: "unless-stopped" },
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      // no-new-privileges, capabilities beyond Docker's default dropped, a pids limit.
      ...appContainerLimits(p.pidsLimit),
      Init: true,
    },
  });
}

/** Slots wanted by a formation, e.g. {web: 2} -> web.1, web.2. */
export function slotsFor(formation: Record<string, number>): Slot[] {
  const out: Slot[] = [];
  for (const [type, count] of Object.entries(formation).sort(([a], [b]) => a.localeCompare(b))) {
    for (let i = 1; i <= count; i++) out.push({ type, index: i });
  }
  return out;
}
