import type Docker from "dockerode";
import { statusOf } from "./containers.js";

/** Where networks go when Docker's default address pools are used up (10.211.0.0/16, as /24s). */
const FALLBACK_POOL = "10.211";

/** Docker networks the platform creates (app networks, add-on networks). */
export class Networks {
  constructor(private readonly docker: Docker) {}

  /** Create a bridge network if none of that name exists; its id. */
  async ensure(
    name: string,
    labels: Record<string, string>,
    opts: { internal?: boolean; options?: Record<string, string> } = {},
  ): Promise<string> {
    const found = await this.inspect(name);
    if (found) return found.Id;
    const create = (subnet?: string) =>
      this.docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Internal: opts.internal ?? false,
        Options: opts.options,
        Labels: labels,
        IPAM: subnet ? { Driver: "default", Config: [{ Subnet: subnet }] } : undefined,
      });
    try {
      return (await create()).id;
    } catch (err) {
      // Docker's default address pools hold about 30 bridge networks (one per app and per
      // add-on here): past them, a free /24 of FALLBACK_POOL, first come first served.
      if (!/non-overlapping|address pool/i.test(String((err as Error).message))) throw err;
      const used = new Set(
        (await this.list({})).flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? "")),
      );
      for (let i = 0; i < 256; i++) {
        const subnet = `${FALLBACK_POOL}.${i}.0/24`;
        if (used.has(subnet)) continue;
        try {
          return (await create(subnet)).id;
        } catch (e) {
          if (!/overlap|already/i.test(String((e as Error).message))) throw e;
          if (await this.inspect(name)) return (await this.inspect(name))!.Id;
        }
      }
      throw err;
    }
  }

  async inspect(name: string): Promise<Docker.NetworkInspectInfo | null> {
    try {
      return (await this.docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async list(filters: Record<string, string[]>): Promise<Docker.NetworkInspectInfo[]> {
    return (await this.docker.listNetworks({ filters })) as Docker.NetworkInspectInfo[];
  }

  /** Connect a container with DNS aliases; already connected is fine. */
  async connect(network: string, container: string, aliases: string[] = []): Promise<void> {
    try {
      await this.docker
        .getNetwork(network)
        .connect({ Container: container, EndpointConfig: { Aliases: aliases } });
    } catch (err) {
      if (statusOf(err) === 403 && /already exists/i.test(String((err as Error).message))) return;
      throw err;
    }
  }

  /** Disconnect a container; not connected, gone or being removed (it leaves anyway) is fine. */
  async disconnect(network: string, container: string): Promise<void> {
    try {
      await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
    } catch (err) {
      const code = statusOf(err);
      const leaving = code === 500 && /not connected|marked for removal|no such container/i.test(String(err));
      if (code !== 404 && code !== 409 && !leaving) throw err;
    }
  }

  /** Remove a network; a missing one is fine. */
  async remove(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}
