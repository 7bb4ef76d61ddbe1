import type { ContainerSpec } from "../docker/containers.js";

// What every app container (processes, one-offs, release-phase scripts) runs with, on top
// of Docker's defaults, and what it may never have. Pure: plans call it, tests read it.

/**
 * Capabilities dropped from Docker's default set. Kept: CHOWN, DAC_OVERRIDE, FOWNER,
 * FSETID, KILL, SETGID, SETUID, NET_BIND_SERVICE (Dockerfile apps often start as root and
 * switch user, chown their files, or bind port 80). Dropped: raw sockets (ping, spoofing),
 * device nodes, audit writes, file capabilities, capability bounding changes, chroot.
 */
export const APP_CAP_DROP = ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SETPCAP", "SYS_CHROOT"];

/** Processes (and threads) one app container may run: a fork bomb stops there. */
export const DEFAULT_PIDS_LIMIT = 512;

const DOCKER_SOCKET = /(^|\/)docker\.sock$|^\/var\/run\/docker|^\/run\/docker/;

/** The HostConfig fields every app container gets. */
export function appContainerLimits(pidsLimit = DEFAULT_PIDS_LIMIT): {
  SecurityOpt: string[];
  CapDrop: string[];
  PidsLimit: number;
} {
  return { SecurityOpt: ["no-new-privileges"], CapDrop: [...APP_CAP_DROP], PidsLimit: pidsLimit };
}

/**
 * What an app container may never have: the Docker socket, the host's network (or another
 * container's namespaces), privileged mode or added capabilities. Throws naming the rule.
 */
export function checkAppSpec(spec: ContainerSpec): ContainerSpec {
  const h = spec.HostConfig ?? {};
  const problems: string[] = [];
  const mode = h.NetworkMode ?? "";
  if (mode === "host" || mode.startsWith("container:")) problems.push(`network mode ${mode}`);
  if (h.PidMode === "host" || h.IpcMode === "host" || h.UsernsMode === "host")
    problems.push("a host namespace");
  if (h.Privileged) problems.push("privileged mode");
  if (h.CapAdd && h.CapAdd.length > 0) problems.push(`added capabilities ${h.CapAdd.join(",")}`);
  for (const b of h.Binds ?? []) if (DOCKER_SOCKET.test(b.split(":")[0])) problems.push("the Docker socket");
  for (const m of h.Mounts ?? [])
    if (m.Source && DOCKER_SOCKET.test(m.Source)) problems.push("the Docker socket");
  if (!(h.SecurityOpt ?? []).includes("no-new-privileges")) problems.push("no no-new-privileges");
  if (problems.length > 0)
    throw new Error(`app container ${spec.name ?? ""} refused: it would get ${problems.join(", ")}`);
  return spec;
}
