import type Docker from "dockerode";
import { statusOf } from "./containers.js";

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
    const net = await this.docker.createNetwork({
      Name: name,
      Driver: "bridge",
      CheckDuplicate: true,
      Internal: opts.internal ?? false,
      Options: opts.options,
      Labels: labels,
    });
    return net.id;
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

  /** Disconnect a container; not connected (or gone) is fine. */
  async disconnect(network: string, container: string): Promise<void> {
    try {
      await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 404 && code !== 409 && !(code === 500 && /not connected/i.test(String(err)))) throw err;
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
