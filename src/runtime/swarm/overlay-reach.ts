import os from "node:os";
import type { DockerParts } from "../../docker/index.js";

/**
 * Whether this process has an address on the overlay network `name` (it runs in a container
 * attached to it), so it can reach the tasks' overlay addresses. A worker that cannot must not
 * probe them: every probe would fail and liveness would replace healthy tasks. null when the
 * network or its subnet is unknown (nothing to say).
 */
export async function onOverlay(docker: DockerParts, name: string): Promise<boolean | null> {
  const net = await docker.networks.inspect(name);
  const subnets = (net?.IPAM?.Config ?? []).map((c) => c.Subnet ?? "").filter(Boolean);
  if (subnets.length === 0) return null;
  const mine = Object.values(os.networkInterfaces())
    .flat()
    .map((i) => i?.address ?? "");
  return mine.some((a) => subnets.some((s) => inSubnet(a, s)));
}

/** An IPv4 address inside an IPv4 CIDR (anything else: false). */
export function inSubnet(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const a = ipv4(address);
  const b = ipv4(base ?? "");
  const n = Number(bits);
  if (a === null || b === null || !Number.isInteger(n) || n < 0 || n > 32) return false;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function ipv4(s: string): number | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let out = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out = out * 256 + Number(p);
  }
  return out;
}
