import crypto from "node:crypto";
import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeWorkers } from "../helpers/node-workers.js";
import { Platform, ROOT } from "../helpers/platform.js";
import { SwarmCluster } from "../helpers/swarm-cluster.js";
import { routerGet, sleep } from "../helpers/swarm-engine.js";

// Swarm mode on 3 nodes of the test's own: a manager (a dockerd in a network namespace of its
// own) and two workers, privileged containers on the host's engine with `--network none`, each
// running Debian's docker.io (test/fixtures/swarm-node), joined over a LAN bridge in a fourth
// namespace.
// Images reach the workers through the registry (by digest); the router on the manager's
// overlay reaches the tasks on every node. Every node runs a worker-only `paas server` on
// its own engine (its log collector); the manager's engine has two (the platform's
// container and a second worker-only one on the overlay), which must not collect its tasks
// twice. The second is on the overlay too because a manager's worker takes builds and
// deploys, whose checks reach the tasks on their overlay addresses (a worker on the host
// could not, and failed the push whenever it took the job).

interface Proc {
  name: string;
  state: string;
  node: string;
}

describe("swarm scheduler on a 3-node swarm", () => {
  const cluster = new SwarmCluster();
  const engine = cluster.manager;
  const p = new Platform();
  const app = `swc-${Date.now().toString(36)}`;
  let repo = "";
  const get = () => routerGet(engine.engineIp, engine.routerPort, `${app}.paas.test`);
  const ps = async () => {
    const r = await p.cli(["ps", "--json", "--app", app]);
    if (r.code !== 0) throw new Error(`paas ps failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Proc[];
  };
  const upNodes = async () => (await ps()).filter((x) => x.state === "up").map((x) => x.node);
  const nodeWorkers = new NodeWorkers(() => p.ns);

  /**
   * A second worker-only `paas server` on the manager's engine, in a container on the overlay
   * like the platform's (engine.startWorker), with the same settings: it may take any job.
   */
  const startManagerWorker = async (env: Record<string, string>) => {
    const c = await engine.docker.createContainer({
      name: `${p.ns}-worker2`,
      Image: "paas/debian:bookworm",
      Cmd: ["node", `${ROOT}/dist/cli/main.js`, "server", "--roles", "worker"],
      Env: Object.entries({ ...env, PAAS_NAMESPACE: p.ns, PAAS_DATA_DIR: "/var/lib/paas-worker" }).map(
        ([k, v]) => `${k}=${v}`,
      ),
      Labels: { "paas.managed": "true", "paas.namespace": p.ns },
      HostConfig: {
        NetworkMode: `${p.ns}-swarm`,
        Binds: [
          "/usr/bin/node:/usr/bin/node:ro",
          "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro",
          `${ROOT}:${ROOT}:ro`,
          `${engine.socket}:/var/run/docker.sock`,
          "/usr/bin/docker-registry:/usr/bin/docker-registry:ro",
          `${engine.registryConfig}:${engine.registryConfig}:ro`,
          `${engine.dir}/registry:${engine.dir}/registry`,
        ],
      },
    });
    await c.start();
    for (let i = 0; ; i++) {
      const logs = String(await c.logs({ stdout: true, stderr: true }));
      if (logs.includes("paas is running")) break;
      if (i > 120) throw new Error(`second manager worker did not start:\n${logs}`);
      await sleep(250);
    }
  };

  /** Steady requests until stopped: how many answered 200 and how many did not. */
  const load = () => {
    let done = false;
    const counts = { ok: 0, failed: 0 };
    const loop = (async () => {
      while (!done) {
        const r = await get();
        if (r.status === 200) counts.ok++;
        else counts.failed++;
      }
    })();
    return {
      counts,
      stop: async () => {
        done = true;
        await loop;
        return counts;
      },
    };
  };

  beforeAll(async () => {
    await cluster.start(["paas/busybox:latest", "paas/debian:bookworm"], 2);
    const common = {
      PAAS_SCHEDULER: "swarm",
      PAAS_REDIS_URL: engine.redisUrl,
      PAAS_SCAN_POLICY: "off",
      PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
    };
    await p.start({ ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    const workerEnv = {
      ...common,
      PAAS_DOMAIN: "paas.test",
      PAAS_START_TIMEOUT: "60",
      PAAS_DRAIN_SECONDS: "2",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_REGISTRY: engine.registry,
      PAAS_REGISTRY_CONFIG: engine.registryConfig,
    };
    await engine.startWorker(p.ns, workerEnv);
    // One worker-only server per worker node (on the host, through the node's socket), and a
    // second one on the manager's engine.
    for (const w of cluster.workers) await nodeWorkers.start(w.name, w.socket, common);
    await startManagerWorker(workerEnv);
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await nodeWorkers.stopAll();
    await p.stop().catch(() => {});
    await cluster.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("lists three ready nodes and spreads 3 replicas over them", async () => {
    const nodes = JSON.parse((await p.cli(["nodes", "--json"])).stdout) as {
      hostname: string;
      state: string;
    }[];
    expect(nodes.map((n) => n.state)).toEqual(["ready", "ready", "ready"]);
    const scale = await p.cli(["ps:scale", "web=3", "--app", app]);
    expect(scale.code, scale.stderr).toBe(0);
    let spread: string[] = [];
    for (let i = 0; i < 60 && new Set(spread).size < 3; i++) {
      spread = await upNodes();
      if (new Set(spread).size < 3) await sleep(500);
    }
    expect(new Set(spread).size).toBe(3);
    for (let i = 0; i < 9; i++) expect((await get()).status).toBe(200);
  });

  it("collects every node's task output into paas logs once, and their live figures into ps", async () => {
    const procs = await ps();
    const managerName = (
      JSON.parse((await p.cli(["nodes", "--json"])).stdout) as { hostname: string; role: string }[]
    )
      .filter((n) => n.role === "manager")
      .map((n) => n.hostname);
    const remote = procs.filter((x) => x.state === "up" && !managerName.includes(x.node));
    expect(remote.length).toBeGreaterThan(0);
    // A worker node's engine is not a manager: its worker collects and takes no jobs.
    for (const w of nodeWorkers.all.slice(0, 2))
      expect(w.output()).toContain("this engine is not a swarm manager: collecting its logs and stats only");
    const startLines = (logs: string, dyno: string) =>
      logs.split("\n").filter((l) => l.includes(`app[${dyno}]: starting on port`)).length;
    let logs = "";
    const dynos = procs.filter((x) => x.state === "up").map((x) => x.name);
    for (let i = 0; i < 60; i++) {
      logs = (await p.cli(["logs", "-n", "500", "--app", app])).stdout;
      if (dynos.every((d) => startLines(logs, d) > 0)) break;
      await sleep(500);
    }
    // Every task's start line (on whichever node it runs), once: the two workers on the
    // manager's engine share it through its lease.
    for (const d of dynos) expect(startLines(logs, d), `${d} in:\n${logs}`).toBe(1);
    let figures: (Proc & { memoryBytes?: number })[] = [];
    for (let i = 0; i < 30; i++) {
      figures = (await ps()) as typeof figures;
      if (figures.every((x) => x.state !== "up" || typeof x.memoryBytes === "number")) break;
      await sleep(1_000);
    }
    const remoteFigures = figures.filter((x) => remote.some((r) => r.name === x.name));
    expect(remoteFigures.length).toBeGreaterThan(0);
    for (const x of remoteFigures) expect(x.memoryBytes, JSON.stringify(x)).toBeGreaterThan(0);
  });

  it("drains a worker node with 0 failed requests", async () => {
    const node = cluster.workers[0].name;
    const l = load();
    await sleep(1_000);
    const drain = await p.cli(["nodes:drain", node]);
    expect(drain.code, drain.stderr).toBe(0);
    let nodes: string[] = [];
    for (let i = 0; i < 120; i++) {
      nodes = await upNodes();
      if (nodes.length === 3 && !nodes.includes(node)) break;
      await sleep(500);
    }
    await sleep(3_000); // the route follows the moved tasks while requests keep coming
    const counts = await l.stop();
    console.log(`swarm nodes:drain under load: ${counts.ok} ok, ${counts.failed} failed`);
    expect(nodes).toHaveLength(3);
    expect(nodes).not.toContain(node);
    expect(counts.ok).toBeGreaterThan(0);
    expect(counts.failed).toBe(0);
    expect((await p.cli(["nodes:activate", node])).code).toBe(0);
  });

  it("reschedules the tasks of a worker whose engine dies, and the app answers again", async () => {
    const victim = cluster.workers[1];
    expect(await upNodes()).toContain(victim.name);
    const t0 = Date.now();
    // Its LAN link goes down and its container is killed: its dockerd and its tasks die.
    await cluster.kill(victim);
    // Answering again: 3 tasks up on the other nodes, and 20 requests in a row answered.
    let streak = 0;
    for (let i = 0; i < 600 && streak < 20; i++) {
      const nodes = await upNodes();
      const ok = nodes.length === 3 && !nodes.includes(victim.name) && (await get()).status === 200;
      streak = ok ? streak + 1 : 0;
      if (!ok) await sleep(250);
    }
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `swarm: a worker node's engine died; its tasks were rescheduled and the app answered again in ${seconds.toFixed(1)}s`,
    );
    expect(streak).toBe(20);
  });
});
