import crypto from "node:crypto";
import type Docker from "dockerode";

/** The engine's CPU count (docker info NCPU), or null when it cannot be asked. */
export async function hostCpus(raw: Docker): Promise<number | null> {
  try {
    const info = (await raw.info()) as { NCPU?: unknown };
    return typeof info.NCPU === "number" && info.NCPU > 0 ? info.NCPU : null;
  } catch {
    return null;
  }
}

/**
 * Who the engine is: the same for every client of one engine, different for two engines.
 * docker info's ID alone is not enough (Docker 20.10 takes it from /etc/docker/key.json, so
 * every dockerd of a host, or of hosts cloned from one image, has the same), so it is
 * hashed with the data root (two engines of a host never share one) and the host name.
 */
export async function engineId(raw: Docker): Promise<string> {
  const info = (await raw.info()) as {
    ID?: string;
    Name?: string;
    DockerRootDir?: string;
  };
  if (!info.ID) throw new Error("the Docker engine reported no ID");
  const parts = [info.ID, info.DockerRootDir ?? "", info.Name ?? ""];
  return crypto.createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 24);
}

/** This engine's swarm node: its id, host name and whether it is a manager; null outside a swarm. */
export async function swarmNode(
  raw: Docker,
): Promise<{ id: string; hostname: string; manager: boolean } | null> {
  const info = (await raw.info()) as {
    Name?: string;
    Swarm?: { NodeID?: string; LocalNodeState?: string; ControlAvailable?: boolean };
  };
  if (!info.Swarm?.NodeID || info.Swarm.LocalNodeState !== "active") return null;
  return {
    id: info.Swarm.NodeID,
    hostname: info.Name ?? info.Swarm.NodeID,
    manager: Boolean(info.Swarm.ControlAvailable),
  };
}
