import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { promisify } from "node:util";
import Docker from "dockerode";
import { privilegedHostConfig, swarmNodeImage } from "./node-image.js";
import { SwarmEngine, sleep } from "./swarm-engine.js";

const exec = promisify(execFile);
/** Label on the node containers: which test process made them (leftovers of dead ones are swept). */
const PID_LABEL = "paas.test-pid";

/** A worker node: a privileged container on the host's engine running its own dockerd, on the cluster's LAN. */
export interface WorkerNode {
  name: string;
  /** The node container's network namespace, named in /var/run/netns (`ip -n <netns> ...`). */
  netns: string;
  /** Host directory mounted at the node's /run/paas-node: its engine's socket is `${dir}/docker.sock`. */
  dir: string;
  /** `${dir}/docker.sock`: the node's engine, reachable from the host. */
  socket: string;
  lanIp: string;
  docker: Docker;
  /** The node's end of its LAN link (taken down to make the node vanish). */
  link: string;
  /** The node's container on the host's engine (name). */
  container: string;
}

/**
 * A 3-node Swarm with no part on the host's network: the manager is a SwarmEngine (a dockerd
 * in a network namespace; it also has the veth to the host for the API, Redis and the test's
 * requests); the workers are privileged containers on the host's engine, from
 * paas-test/swarm-node (Debian's docker.io FROM the base image, test/fixtures/swarm-node),
 * each with its own dockerd, storage on a tmpfs (overlay2 not on overlay) and `--network
 * none`: the test plugs a veth from a fourth, LAN-only namespace into each container's
 * network namespace, so Docker adds no bridge or iptables rule on the host for them. The
 * manager's namespace is on that LAN too. Workers route through the manager's LAN address,
 * which is how they reach the registry (at the manager's address) and the swarm's advertise
 * address.
 */
export class SwarmCluster {
  readonly manager = new SwarmEngine();
  readonly workers: WorkerNode[] = [];
  private readonly lanNs = `${this.manager.netns}-lan`;
  private readonly lanPrefix = `10.214.${this.manager.subnet}`;
  /** The host's engine, where the worker nodes' containers run. */
  private readonly host = new Docker();

  async start(images: string[], workers = 2): Promise<void> {
    await sweepDeadNodes(this.host);
    // The nodes' containers and engines start while the manager does (they need no network
    // to start); then each is plugged into the LAN and joins.
    const [nodes] = await Promise.all([
      swarmNodeImage().then((image) =>
        Promise.all(Array.from({ length: workers }, (_, i) => this.startNode(i + 1, image))),
      ),
      (async () => {
        await this.manager.start(images, { swarmInit: false });
        await this.manager.startRegistry();
        await exec("ip", ["netns", "add", this.lanNs]);
        await exec("ip", ["-n", this.lanNs, "link", "add", "br0", "type", "bridge"]);
        await exec("ip", ["-n", this.lanNs, "link", "set", "br0", "up"]);
        await this.plug(this.manager.netns, 0, 1);
      })(),
    ]);
    // The swarm (control and VXLAN data path) lives on the LAN: one address per node that
    // every other node reaches directly.
    const managerLan = `${this.lanPrefix}.1`;
    await this.manager.docker.swarmInit({ ListenAddr: `${managerLan}:2377`, AdvertiseAddr: managerLan });
    const { JoinTokens } = (await this.manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
    for (const [i, node] of nodes.entries()) {
      node.link = await this.plug(node.netns, i + 1, i + 2, String(node.pid));
      await exec("ip", ["-n", node.netns, "route", "add", "default", "via", managerLan]);
      await node.docker.swarmJoin({
        ListenAddr: `${node.lanIp}:2377`,
        AdvertiseAddr: node.lanIp,
        RemoteAddrs: [`${managerLan}:2377`],
        JoinToken: JoinTokens.Worker,
      });
    }
    for (let i = 0; ; i++) {
      const nodes = (await this.manager.docker.listNodes()) as { Status?: { State?: string } }[];
      if (nodes.filter((n) => n.Status?.State === "ready").length === workers + 1) break;
      if (i > 120) throw new Error(`the workers did not join: ${JSON.stringify(nodes.map((n) => n.Status))}`);
      await sleep(250);
    }
  }

  /**
   * A veth from the LAN bridge into the namespace named `netns`, with address .<host>; `into`:
   * where `ip link set ... netns` moves it (the name, or the PID of a process in it).
   */
  private async plug(netns: string, index: number, host: number, into: string = netns): Promise<string> {
    const a = `psw${this.manager.id}l${index}`;
    const b = `psw${this.manager.id}m${index}`;
    await exec("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
    await exec("ip", ["link", "set", a, "netns", this.lanNs]);
    await exec("ip", ["-n", this.lanNs, "link", "set", a, "master", "br0", "up"]);
    await exec("ip", ["link", "set", b, "netns", into]);
    await exec("ip", ["-n", netns, "addr", "add", `${this.lanPrefix}.${host}/24`, "dev", b]);
    await exec("ip", ["-n", netns, "link", "set", b, "up"]);
    return b;
  }

  private nodeNs(i: number): string {
    return `${this.manager.netns}-w${i}`;
  }

  /** A node's container and engine, not on the LAN yet (start plugs it in). */
  private async startNode(i: number, image: string): Promise<WorkerNode & { pid: number }> {
    const name = this.nodeNs(i);
    const dir = `${this.manager.dir}/w${i}`;
    await fsp.mkdir(dir, { recursive: true });
    const container = await this.host.createContainer({
      name,
      // The node's host name: its name in `paas nodes` and `ps`.
      Hostname: name,
      Image: image,
      Cmd: [`--insecure-registry=${this.manager.registry}`],
      Labels: {
        "paas.managed": "true",
        "paas.namespace": this.manager.netns,
        "paas.kind": "swarm-node",
        [PID_LABEL]: String(process.pid),
      },
      HostConfig: {
        ...privilegedHostConfig(),
        NetworkMode: "none",
        // The node's images and containers: overlay2 on a tmpfs, not on the container's overlay.
        Tmpfs: { "/var/lib/docker": "rw,exec,dev,suid,mode=0711" },
        Binds: [`${dir}:/run/paas-node`],
      },
    });
    // In the list before it runs, so stop() removes it whatever happens next.
    const node = {
      name,
      netns: name,
      dir,
      socket: `${dir}/docker.sock`,
      lanIp: `${this.lanPrefix}.${i + 1}`,
      docker: new Docker({ socketPath: `${dir}/docker.sock` }),
      link: "",
      container: name,
      pid: 0,
    };
    this.workers[i - 1] = node;
    await container.start();
    node.pid = (await container.inspect()).State.Pid;
    // Named, so `ip -n <netns>` reaches it.
    await exec("ip", ["netns", "attach", name, String(node.pid)]);
    await exec("ip", ["-n", name, "link", "set", "lo", "up"]);
    for (
      let n = 0;
      !(await node.docker.ping().then(
        () => true,
        () => false,
      ));
      n++
    ) {
      if (n > 120) {
        const logs = await container.logs({ stdout: true, stderr: true, tail: 40 }).catch(() => "");
        throw new Error(`worker node ${name}'s dockerd did not start:\n${String(logs)}`);
      }
      await sleep(250);
    }
    node.name = ((await node.docker.info()) as { Name: string }).Name;
    return node;
  }

  /** The node's LAN link goes down (it is cut off, its engine keeps running) or back up. */
  async setLink(node: WorkerNode, up: boolean): Promise<void> {
    await exec("ip", ["-n", node.netns, "link", "set", node.link, up ? "up" : "down"]);
  }

  /** The node vanishes: its LAN link goes down and its container is killed (its engine and tasks with it). */
  async kill(node: WorkerNode): Promise<void> {
    await this.setLink(node, false);
    await this.host
      .getContainer(node.container)
      .kill()
      .catch(() => {});
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        await this.host
          .getContainer(w.container)
          .remove({ force: true })
          .catch(() => {});
        await exec("ip", ["netns", "del", w.netns]).catch(() => {});
      }),
    );
    await this.manager.stop();
    await exec("ip", ["netns", "del", this.lanNs]).catch(() => {});
  }
}

/** Remove node containers (and their named namespaces) left by test processes that are gone. */
async function sweepDeadNodes(host: Docker): Promise<void> {
  const filters = JSON.stringify({ label: ["paas.managed=true", "paas.kind=swarm-node"] });
  for (const c of await host.listContainers({ all: true, filters })) {
    const pid = Number(c.Labels[PID_LABEL]);
    if (pid > 0 && fs.existsSync(`/proc/${pid}`)) continue;
    await host
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
    const name = (c.Names[0] ?? "").replace(/^\//, "");
    if (name) await exec("ip", ["netns", "del", name]).catch(() => {});
  }
}
