import { execFile } from "node:child_process";
import crypto from "node:crypto";
import { promisify } from "node:util";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedLabels } from "../docker/labels.js";

// Where Dockerfile builds' RUN steps run. Docker's default bridge reaches every port the
// host listens on through the bridge's address (172.17.0.1): the platform's API when
// PAAS_BIND=0.0.0.0, a Redis bound to all addresses, anything else on the host. With
// PAAS_BUILD_NETWORK=isolated (the default) builds get their own bridge network, with no
// traffic between containers on it (icc off), and one host firewall rule rejects every
// packet from such bridges to the host itself (INPUT), so a build reaches the internet
// (FORWARD) but not this host. An operator who wants builds to reach the host (a proxy on
// it, a local package mirror) sets PAAS_BUILD_NETWORK=bridge or another network's name.

const run = promisify(execFile);

/** Build bridges are named pbuild<hash> (Linux allows 15 characters); one rule covers all. */
export const BRIDGE_PREFIX = "pbuild";

/**
 * One network for every platform on this host (builds on it cannot see each other anyway):
 * a network per namespace would take one of Docker's few address pools each.
 */
export const BUILD_NETWORK = "paas-builds";

export function bridgeName(network: string): string {
  return `${BRIDGE_PREFIX}${crypto.createHash("sha256").update(network).digest("hex").slice(0, 8)}`;
}

/** The iptables arguments of the one rule (without -C / -I). */
export function hostRejectRule(): string[] {
  return ["INPUT", "-i", `${BRIDGE_PREFIX}+`, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"];
}

let ruleChecked: Promise<string | null> | null = null;

/** Add the host rule once per process; a problem is returned (and logged by the caller), not thrown. */
async function ensureHostRule(): Promise<string | null> {
  try {
    await run("iptables", ["-C", ...hostRejectRule()]);
    return null;
  } catch {
    try {
      await run("iptables", ["-I", ...hostRejectRule()]);
      return null;
    } catch (err) {
      return `could not add the firewall rule that keeps builds off this host (iptables: ${(err as Error).message.split("\n")[0]}); keep PAAS_BIND on 127.0.0.1`;
    }
  }
}

/** The network name for `docker build`, made if needed; undefined for Docker's default. */
export async function buildNetwork(
  docker: DockerParts,
  settings: Settings,
  log: (line: string) => void,
): Promise<string | undefined> {
  if (settings.buildNetwork !== "isolated")
    return settings.buildNetwork === "default" ? undefined : settings.buildNetwork;
  const name = BUILD_NETWORK;
  // Labelled as the host's, not one namespace's: a namespace's clean-up must not remove it.
  await docker.networks.ensure(name, ownedLabels("host", { [LABEL.kind]: "build-network" }), {
    options: {
      "com.docker.network.bridge.name": bridgeName(name),
      "com.docker.network.bridge.enable_icc": "false",
    },
  });
  ruleChecked ??= ensureHostRule();
  const problem = await ruleChecked;
  if (problem) log(`       ! ${problem}`);
  return name;
}
