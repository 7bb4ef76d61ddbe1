import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";

const exec = promisify(execFile);
/** The repository (this file also runs compiled under dist-bench/ for `npm run bench -- swarm`). */
const ROOT = ((dir: string) => {
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})(import.meta.dirname);

/**
 * A Docker engine of the test's own, as a single-node Swarm: a second dockerd in its own
 * network namespace (so its bridges and iptables rules live there, not on the host), with
 * its own data root, exec root, pidfile and socket under /tmp, and its own containerd. The
 * namespace reaches the host through one veth pair on a private /30 (the swarm's advertise
 * address is the namespace's end); the test's own Redis listens on the host's end. Nothing
 * here touches the host's engine, bridges or iptables rules.
 */
export class SwarmEngine {
  readonly id = crypto.randomBytes(2).toString("hex");
  readonly netns = `paas-sw-${this.id}`;
  readonly dir = `/tmp/paas-sw-${this.id}`;
  readonly subnet = 100 + (crypto.randomBytes(1)[0] % 150);
  /** The host's end of the veth (the test's Redis listens here). */
  readonly hostIp = `10.213.${this.subnet}.1`;
  /** The namespace's end: the swarm's advertise address; published ports bind here only. */
  readonly engineIp = `10.213.${this.subnet}.2`;
  readonly redisPort = 16000 + (crypto.randomBytes(2).readUInt16BE(0) % 2000);
  private readonly vethHost = `psw${this.id}h`;
  private readonly vethNs = `psw${this.id}n`;
  docker!: Docker;

  get socket(): string {
    return `${this.dir}/docker.sock`;
  }

  get redisUrl(): string {
    return `redis://${this.hostIp}:${this.redisPort}`;
  }

  /** The test's registry (Debian's docker-registry) inside the namespace, once startRegistry ran. */
  get registry(): string {
    return `${this.engineIp}:5000`;
  }

  get registryConfig(): string {
    return `${this.dir}/registry.yml`;
  }

  /** `swarmInit: false`: the caller initialises the swarm (SwarmCluster: on its LAN address). */
  async start(images: string[], opts: { swarmInit?: boolean } = {}): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const ip = (...args: string[]) => exec("ip", args);
    const inNs = (...args: string[]) => exec("ip", ["netns", "exec", this.netns, ...args]);
    await ip("netns", "add", this.netns);
    await ip("link", "add", this.vethHost, "type", "veth", "peer", "name", this.vethNs);
    await ip("link", "set", this.vethNs, "netns", this.netns);
    await ip("addr", "add", `${this.hostIp}/30`, "dev", this.vethHost);
    await ip("link", "set", this.vethHost, "up");
    await inNs("ip", "addr", "add", `${this.engineIp}/30`, "dev", this.vethNs);
    await inNs("ip", "link", "set", this.vethNs, "up");
    await inNs("ip", "link", "set", "lo", "up");
    // `ip netns exec` would remount /sys without the cgroup mounts dockerd needs: nsenter
    // enters only the network namespace.
    const daemonLog = await fsp.open(`${this.dir}/dockerd.log`, "w");
    const daemon = spawn(
      "nsenter",
      [
        `--net=/var/run/netns/${this.netns}`,
        // Its own UTS namespace too: the node's host name is the namespace's.
        "unshare",
        "--uts",
        "sh",
        "-c",
        `hostname ${this.netns} && exec dockerd "$@"`,
        "dockerd",
        `--data-root=${this.dir}/data`,
        `--exec-root=${this.dir}/exec`,
        `--pidfile=${this.dir}/docker.pid`,
        `--host=unix://${this.socket}`,
        `--containerd-namespace=paas-sw-${this.id}`,
        `--containerd-plugins-namespace=paas-sw-${this.id}-p`,
        "--userland-proxy=false",
        // The test registry speaks plain HTTP: allowed for this engine only (test setups only).
        `--insecure-registry=${this.engineIp}:5000`,
      ],
      { stdio: ["ignore", daemonLog.fd, "ignore"], detached: true },
    );
    daemon.unref();
    await daemonLog.close();
    const redis = spawn(
      "redis-server",
      [
        "--bind",
        this.hostIp,
        "--port",
        String(this.redisPort),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
      ],
      { stdio: "ignore", detached: true },
    );
    redis.unref();
    await fsp.writeFile(`${this.dir}/redis.pid`, String(redis.pid));
    this.docker = new Docker({ socketPath: this.socket });
    for (let i = 0; ; i++) {
      if (
        await this.docker.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      if (i > 120)
        throw new Error(
          `test dockerd did not start:\n${await fsp.readFile(`${this.dir}/dockerd.log`, "utf8")}`,
        );
      await sleep(250);
    }
    if (opts.swarmInit !== false) {
      await this.docker.swarmInit({ ListenAddr: `${this.engineIp}:2377`, AdvertiseAddr: this.engineIp });
    }
    // It has no images: the base images come from the host's engine (docker save | load).
    for (const image of images) {
      await exec("sh", ["-c", `docker save ${image} | DOCKER_HOST=unix://${this.socket} docker load -q`]);
    }
  }

  /** Port of the router in the worker container, published on engineIp only. */
  readonly routerPort = 8080;

  /**
   * `paas server --roles worker,router` in a container on the namespace's attachable overlay
   * network (PAAS_SWARM_NETWORK's default for `ns`), driving this engine through its socket,
   * with a data dir of its own: node and the compiled tree are mounted read-only.
   */
  async startWorker(ns: string, env: Record<string, string>): Promise<void> {
    await this.docker.createNetwork({
      Name: `${ns}-swarm`,
      Driver: "overlay",
      Attachable: true,
      Labels: { "paas.managed": "true", "paas.namespace": ns },
    });
    const port = `${this.routerPort}/tcp`;
    const c = await this.docker.createContainer({
      name: `${ns}-platform`,
      Image: "paas/debian:bookworm",
      Cmd: ["node", `${ROOT}/dist/cli/main.js`, "server", "--roles", "worker,router"],
      Env: Object.entries({
        PAAS_NAMESPACE: ns,
        PAAS_DATA_DIR: "/var/lib/paas-worker",
        PAAS_BIND: "0.0.0.0",
        PAAS_HTTP_PORT: String(this.routerPort),
        PAAS_HTTPS_PORT: "off",
        PAAS_ROUTER_WORKERS: "0",
        ...env,
      }).map(([k, v]) => `${k}=${v}`),
      Labels: { "paas.managed": "true", "paas.namespace": ns },
      ExposedPorts: { [port]: {} },
      HostConfig: {
        NetworkMode: `${ns}-swarm`,
        // Published on the namespace's own address only.
        PortBindings: { [port]: [{ HostIp: this.engineIp, HostPort: String(this.routerPort) }] },
        Binds: [
          "/usr/bin/node:/usr/bin/node:ro",
          "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro",
          `${ROOT}:${ROOT}:ro`,
          `${this.socket}:/var/run/docker.sock`,
          // The registry's garbage collection runs where its storage is.
          "/usr/bin/docker-registry:/usr/bin/docker-registry:ro",
          ...(await fsp.stat(this.registryConfig).then(
            () => [
              `${this.registryConfig}:${this.registryConfig}:ro`,
              `${this.dir}/registry:${this.dir}/registry`,
            ],
            () => [],
          )),
        ],
      },
    });
    await c.start();
    for (let i = 0; ; i++) {
      const logs = String(await c.logs({ stdout: true, stderr: true }));
      if (logs.includes("paas is running")) break;
      if (i > 120) throw new Error(`platform container did not start:\n${logs}`);
      await sleep(250);
    }
  }

  /**
   * Debian's docker-registry in the namespace, storage under this engine's directory; with
   * `auth`, htpasswd (bcrypt) basic auth for that one user (the engine still reaches it over
   * plain HTTP: it is in the engine's insecure-registries, test setups only).
   */
  async startRegistry(opts: { auth?: { username: string; password: string } } = {}): Promise<void> {
    await fsp.mkdir(`${this.dir}/registry`, { recursive: true });
    const htpasswd = `${this.dir}/registry.htpasswd`;
    if (opts.auth) {
      // The password through stdin, not the command line.
      const child = execFile("htpasswd", ["-iBc", htpasswd, opts.auth.username]);
      child.stdin?.end(`${opts.auth.password}\n`);
      await new Promise<void>((resolve, reject) =>
        child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`htpasswd exited ${code}`)))),
      );
    }
    await fsp.writeFile(
      this.registryConfig,
      [
        "version: 0.1",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${this.dir}/registry`,
        "  delete:",
        "    enabled: true",
        "http:",
        `  addr: ${this.registry}`,
        ...(opts.auth ? ["auth:", "  htpasswd:", "    realm: paas-test", `    path: ${htpasswd}`] : []),
        "",
      ].join("\n"),
    );
    const registryLog = await fsp.open(`${this.dir}/registry.log`, "w");
    const registry = spawn(
      "nsenter",
      [`--net=/var/run/netns/${this.netns}`, "docker-registry", "serve", this.registryConfig],
      { stdio: ["ignore", registryLog.fd, "ignore"], detached: true },
    );
    registry.unref();
    await registryLog.close();
    await fsp.writeFile(`${this.dir}/registry.pid`, String(registry.pid));
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://${this.registry}/v2/`).then(
        (r) => r.ok || (opts.auth !== undefined && r.status === 401),
        () => false,
      );
      if (ok) break;
      if (i > 80)
        throw new Error(
          `test registry did not start:\n${await fsp.readFile(`${this.dir}/registry.log`, "utf8")}`,
        );
      await sleep(250);
    }
  }

  /** Stop everything this engine started and remove its namespace, veth and files. */
  async stop(): Promise<void> {
    const pidOf = async (f: string) =>
      Number(await fsp.readFile(`${this.dir}/${f}`, "utf8").catch(() => "0"));
    for (const f of ["docker.pid", "redis.pid", "registry.pid"]) {
      const pid = await pidOf(f);
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {}
      }
    }
    for (let i = 0; i < 80; i++) {
      const pid = await pidOf("docker.pid");
      if (!pid || !alive(pid)) break;
      await sleep(250);
    }
    const left = await pidOf("docker.pid");
    if (left && alive(left)) process.kill(left, "SIGKILL");
    await exec("sh", [
      "-c",
      `grep -o ' ${this.dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`,
    ]).catch(() => {});
    await exec("ip", ["netns", "del", this.netns]).catch(() => {});
    await exec("ip", ["link", "del", this.vethHost]).catch(() => {});
    await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET through a router at host:port with the app's Host header. */
export function routerGet(
  host: string,
  port: number,
  hostHeader: string,
  path = "/",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, headers: { host: hostHeader }, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
  });
}
