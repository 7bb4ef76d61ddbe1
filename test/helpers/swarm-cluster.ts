import { execFile, spawn } from "node:child_process";
import fsp from "node:fs/promises";
import { promisify } from "node:util";
import Docker from "dockerode";
import { SwarmEngine, sleep } from "./swarm-engine.js";

const exec = promisify(execFile);

/** A worker node: a dockerd in a network namespace of its own, on the cluster's LAN. */
export interface WorkerNode {
  name: string;
  netns: string;
  dir: string;
  lanIp: string;
  docker: Docker;
  /** The node's end of its LAN link (taken down to make the node vanish). */
  link: string;
}

/**
 * A 3-node Swarm with no part on the host's network: the manager is a SwarmEngine (its
 * namespace also has the veth to the host for the API, Redis and the test's requests);
 * the workers are dockerds in namespaces of their own. All three are joined by a bridge
 * inside a fourth, LAN-only namespace. Workers route through the manager's LAN address,
 * which is how they reach the registry (at the manager's address) and the swarm's
 * advertise address.
 */
export class SwarmCluster {
  readonly manager = new SwarmEngine();
  readonly workers: WorkerNode[] = [];
  private readonly lanNs = `${this.manager.netns}-lan`;
  private readonly lanPrefix = `10.214.${this.manager.subnet}`;

  async start(images: string[], workers = 2): Promise<void> {
    await this.manager.start(images, { swarmInit: false });
    await this.manager.startRegistry();
    await exec("ip", ["netns", "add", this.lanNs]);
    await exec("ip", ["-n", this.lanNs, "link", "add", "br0", "type", "bridge"]);
    await exec("ip", ["-n", this.lanNs, "link", "set", "br0", "up"]);
    await this.plug(this.manager.netns, 0, 1);
    // The swarm (control and VXLAN data path) lives on the LAN: one address per node that
    // every other node reaches directly.
    const managerLan = `${this.lanPrefix}.1`;
    await this.manager.docker.swarmInit({ ListenAddr: `${managerLan}:2377`, AdvertiseAddr: managerLan });
    const { JoinTokens } = (await this.manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
    for (let i = 1; i <= workers; i++) {
      const node = await this.startWorker(i);
      await node.docker.swarmJoin({
        ListenAddr: `${node.lanIp}:2377`,
        AdvertiseAddr: node.lanIp,
        RemoteAddrs: [`${managerLan}:2377`],
        JoinToken: JoinTokens.Worker,
      });
      this.workers.push(node);
    }
    for (let i = 0; ; i++) {
      const nodes = (await this.manager.docker.listNodes()) as { Status?: { State?: string } }[];
      if (nodes.filter((n) => n.Status?.State === "ready").length === workers + 1) break;
      if (i > 120) throw new Error(`the workers did not join: ${JSON.stringify(nodes.map((n) => n.Status))}`);
      await sleep(250);
    }
  }

  /** A veth from `netns` into the LAN bridge, with address .<host>. */
  private async plug(netns: string, index: number, host: number): Promise<string> {
    const a = `psw${this.manager.id}l${index}`;
    const b = `psw${this.manager.id}m${index}`;
    await exec("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
    await exec("ip", ["link", "set", a, "netns", this.lanNs]);
    await exec("ip", ["-n", this.lanNs, "link", "set", a, "master", "br0", "up"]);
    await exec("ip", ["link", "set", b, "netns", netns]);
    await exec("ip", ["-n", netns, "addr", "add", `${this.lanPrefix}.${host}/24`, "dev", b]);
    await exec("ip", ["-n", netns, "link", "set", b, "up"]);
    return b;
  }

  private async startWorker(i: number): Promise<WorkerNode> {
    const netns = `${this.manager.netns}-w${i}`;
    const dir = `${this.manager.dir}/w${i}`;
    await fsp.mkdir(dir, { recursive: true });
    await exec("ip", ["netns", "add", netns]);
    await exec("ip", ["-n", netns, "link", "set", "lo", "up"]);
    const link = await this.plug(netns, i, i + 1);
    await exec("ip", ["-n", netns, "route", "add", "default", "via", `${this.lanPrefix}.1`]);
    const log = await fsp.open(`${dir}/dockerd.log`, "w");
    // Its own UTS namespace too: each node has a host name of its own in `paas nodes` and `ps`.
    const daemon = spawn(
      "nsenter",
      [
        `--net=/var/run/netns/${netns}`,
        "unshare",
        "--uts",
        "sh",
        "-c",
        `hostname ${netns} && exec dockerd "$@"`,
        "dockerd",
        `--data-root=${dir}/data`,
        `--exec-root=${dir}/exec`,
        `--pidfile=${dir}/docker.pid`,
        `--host=unix://${dir}/docker.sock`,
        `--containerd-namespace=paas-sw-${this.manager.id}-w${i}`,
        `--containerd-plugins-namespace=paas-sw-${this.manager.id}-w${i}-p`,
        "--userland-proxy=false",
        `--insecure-registry=${this.manager.registry}`,
      ],
      { stdio: ["ignore", log.fd, "ignore"], detached: true },
    );
    daemon.unref();
    await log.close();
    const docker = new Docker({ socketPath: `${dir}/docker.sock` });
    for (
      let n = 0;
      !(await docker.ping().then(
        () => true,
        () => false,
      ));
      n++
    ) {
      if (n > 120)
        throw new Error(
          `worker dockerd ${i} did not start:\n${await fsp.readFile(`${dir}/dockerd.log`, "utf8")}`,
        );
      await sleep(250);
    }
    const info = (await docker.info()) as { Name: string };
    return { name: info.Name, netns, dir, lanIp: `${this.lanPrefix}.${i + 1}`, docker, link };
  }

  /** The node vanishes: its LAN link goes down and its engine is killed (its containers with it). */
  async kill(node: WorkerNode): Promise<void> {
    await exec("ip", ["-n", node.netns, "link", "set", node.link, "down"]);
    await killNetnsProcesses(node.netns);
  }

  async stop(): Promise<void> {
    for (const w of this.workers) {
      const pid = Number(await fsp.readFile(`${w.dir}/docker.pid`, "utf8").catch(() => "0"));
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {}
      }
    }
    await sleep(2_000);
    for (const w of this.workers) {
      await killNetnsProcesses(w.netns);
      await exec("ip", ["netns", "del", w.netns]).catch(() => {});
    }
    await this.manager.stop();
    await exec("ip", ["netns", "del", this.lanNs]).catch(() => {});
  }
}

/** SIGKILL every process in a namespace the test made (its dockerd, containerd, shims, tasks). */
async function killNetnsProcesses(netns: string): Promise<void> {
  const pids = (await exec("ip", ["netns", "pids", netns]).catch(() => ({ stdout: "" }))).stdout
    .split("\n")
    .map(Number)
    .filter((n) => n > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}
