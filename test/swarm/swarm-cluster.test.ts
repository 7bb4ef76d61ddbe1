import crypto from "node:crypto";
import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";
import { SwarmCluster } from "../helpers/swarm-cluster.js";
import { routerGet, sleep } from "../helpers/swarm-engine.js";

// Swarm mode on 3 nodes of the test's own: a manager and two workers, each a dockerd in a
// network (and UTS) namespace of its own, joined over a LAN bridge in a fourth namespace.
// Images reach the workers through the registry (by digest); the router on the manager's
// overlay reaches the tasks on every node.

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
  const ps = async () => JSON.parse((await p.cli(["ps", "--json", "--app", app])).stdout) as Proc[];
  const upNodes = async () => (await ps()).filter((x) => x.state === "up").map((x) => x.node);

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
    await engine.startWorker(p.ns, {
      ...common,
      PAAS_DOMAIN: "paas.test",
      PAAS_START_TIMEOUT: "60",
      PAAS_DRAIN_SECONDS: "2",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_REGISTRY: engine.registry,
      PAAS_REGISTRY_CONFIG: engine.registryConfig,
    });
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
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
