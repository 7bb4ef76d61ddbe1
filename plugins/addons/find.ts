// Finding an app's add-on service container from Docker alone (labels and network aliases),
// for the service plugins (pg:*, redis:*), which keep no copy of the add-ons' registry. In
// swarm mode it is the task's container on this engine (the add-on pinned to this node).

import type Docker from "dockerode";
import type { DockerParts } from "../../src/docker/index.js";
import { AddonError } from "./errors.js";
import { ADDON_LABEL, ADDON_SERVICE_LABEL, hostFor } from "./plan.js";
import type { ServiceName } from "./types.js";

export interface FoundService {
  addon: string;
  id: string;
  info: Docker.ContainerInspectInfo;
  /** The service container's environment (credentials). */
  env: Record<string, string>;
}

/** Swarm mode: a task's aliases are its service's (the container's own may not list them). */
async function serviceAliases(docker: DockerParts, labels: Record<string, string>): Promise<string[]> {
  const id = labels["com.docker.swarm.service.id"];
  if (!id) return [];
  const svc = await docker.services.inspect(id);
  const spec = svc?.Spec as { TaskTemplate?: { Networks?: { Aliases?: string[] }[] } } | undefined;
  return (spec?.TaskTemplate?.Networks ?? []).flatMap((n) => n.Aliases ?? []);
}

/**
 * The `service` add-on attached to `app` (or the one named `name`). With several and no
 * name, a clear error listing them.
 */
export async function findService(
  docker: DockerParts,
  namespace: string,
  service: ServiceName,
  app: string,
  name?: string,
): Promise<FoundService> {
  const listed = await docker.containers.list({
    label: [
      "paas.managed=true",
      `paas.namespace=${namespace}`,
      "paas.kind=addon",
      `${ADDON_SERVICE_LABEL}=${service}`,
    ],
  });
  const attached: FoundService[] = [];
  for (const c of listed) {
    const addon = c.Labels[ADDON_LABEL];
    const info = await docker.containers.inspect(c.Id);
    if (!info || !addon) continue;
    const aliases = Object.values(info.NetworkSettings.Networks ?? {}).flatMap((n) => n.Aliases ?? []);
    const host = hostFor(addon, app);
    if (!aliases.includes(host) && !(await serviceAliases(docker, c.Labels)).includes(host)) continue;
    const env = Object.fromEntries(
      (info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    attached.push({ addon, id: c.Id, info, env });
  }
  if (name) {
    const hit = attached.find((f) => f.addon === name);
    if (!hit)
      throw new AddonError(
        `${app} has no ${service} add-on named ${name}; see \`paas addons -a ${app}\``,
        404,
      );
    return hit;
  }
  if (attached.length === 0)
    throw new AddonError(
      `${app} has no ${service} add-on; create one with \`paas addons:create ${service} -a ${app}\``,
      404,
    );
  if (attached.length > 1)
    throw new AddonError(
      `${app} has several ${service} add-ons (${attached.map((f) => f.addon).join(", ")}): name one with --database NAME`,
    );
  return attached[0];
}
