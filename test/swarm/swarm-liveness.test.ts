import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import type Docker from "dockerode";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeWorkers } from "../helpers/node-workers.js";
import { Platform } from "../helpers/platform.js";
import { SwarmCluster } from "../helpers/swarm-cluster.js";
import { routerGet, sleep } from "../helpers/swarm-engine.js";

// Liveness in swarm mode on 3 nodes: the manager's worker (on the overlay) probes every task,
// but only an engine of a task's node can kill its container. A task on a WORKER node that
// fails its app.json liveness check must be replaced by that node's own worker (`paas server
// --roles worker` on the node's engine), once, with the restart line in `paas logs`.

interface Proc {
  name: string;
  state: string;
  node: string;
  container: string;
}

const TASK_ID = "com.docker.swarm.task.id";
const TASK_NAME = "com.docker.swarm.task.name";

describe("swarm liveness on a 3-node swarm", () => {
  const cluster = new SwarmCluster();
  const engine = cluster.manager;
  const p = new Platform();
  const app = `swl-${Date.now().toString(36)}`;
  let repo = "";
  let redis: Redis | null = null;
  const get = () => routerGet(engine.engineIp, engine.routerPort, `${app}.paas.test`);
  const ps = async () => JSON.parse((await p.cli(["ps", "--json", "--app", app])).stdout) as Proc[];
  const logs = async () => (await p.cli(["logs", "-n", "1000", "--app", app])).stdout;
  const nodeWorkers = new NodeWorkers(() => p.ns);

  /** The app's task containers on one node's engine, with their task id and slot. */
  const containersOn = async (docker: Docker) =>
    (
      await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`paas.app=${app}`, "paas.process=web"] }),
      })
    ).map((c) => ({
      id: c.Id,
      running: c.State === "running",
      task: c.Labels[TASK_ID] ?? "",
      slot: Number((c.Labels[TASK_NAME] ?? "").split(".")[1]),
    }));

  /** Failed (killed) tasks of the app's current web service, per slot. */
  const failedBySlot = async () => {
    const services = await engine.docker.listServices({
      filters: JSON.stringify({ label: [`paas.app=${app}`, "paas.process=web"] }),
    });
    const svc = services.sort((x, y) => (y.CreatedAt ?? "").localeCompare(x.CreatedAt ?? ""))[0];
    const tasks = (await engine.docker.listTasks({ filters: JSON.stringify({ service: [svc.ID] }) })) as {
      Slot: number;
      DesiredState: string;
      Status: { State: string };
    }[];
    const out = new Map<number, number>();
    for (const t of tasks)
      if (t.DesiredState === "shutdown" && t.Status.State === "failed")
        out.set(t.Slot, (out.get(t.Slot) ?? 0) + 1);
    return out;
  };

  /** Run a command in a task's container on its node's engine; it must succeed. */
  const run = async (docker: Docker, container: string, cmd: string[]) => {
    const exec = await docker
      .getContainer(container)
      .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    await new Promise((resolve) => {
      stream.on("end", resolve);
      stream.resume();
    });
    expect((await exec.inspect()).ExitCode).toBe(0);
  };

  /** The task ids (12 characters) in the app's route. */
  const routeIds = async () => {
    const route = JSON.parse((await redis?.get(`${p.ns}:route:${app}`)) ?? "{}") as {
      backends?: { id: string }[];
    };
    // A backend's id is `web.<slot>.<task id>`: the task's part.
    return (route.backends ?? []).map((b) => b.id.split(".").pop() ?? b.id);
  };

  const restartLines = (text: string, dyno?: string) =>
    text
      .split("\n")
      .filter((l) =>
        /paas\[web\.\d+\]: Liveness check "alive" failed 2 time\(s\) in a row: restarting/.test(l),
      )
      .filter((l) => !dyno || l.includes(`paas[${dyno}]`));

  beforeAll(async () => {
    await cluster.start(["paas/busybox:latest", "paas/debian:bookworm"], 2);
    redis = new Redis(engine.redisUrl, { maxRetriesPerRequest: 2 });
    const common = {
      PAAS_SCHEDULER: "swarm",
      PAAS_REDIS_URL: engine.redisUrl,
      PAAS_SCAN_POLICY: "off",
      PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
    };
    await p.start({ ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` });
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stdout + login.stderr).toBe(0);
    // The manager's worker and router, on the overlay: it probes the tasks.
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
    // A worker-only server per worker node: these restart their own node's tasks.
    for (const w of cluster.workers) {
      const socket = (w as { socket?: string }).socket ?? `${w.dir}/docker.sock`;
      await nodeWorkers.start(w.name, socket, common);
    }
    // /alive.txt answers until a test removes it from one task's container; a new task (a
    // new container from the image) has it again.
    repo = await p.fixtureRepo("dockerfile-hello", async (dir) => {
      await fsp.writeFile(path.join(dir, "www/alive.txt"), "alive\n");
      await fsp.writeFile(path.join(dir, "www/ready.txt"), "ready\n");
      await fsp.writeFile(
        path.join(dir, "app.json"),
        JSON.stringify({
          healthchecks: {
            web: [
              {
                type: "liveness",
                name: "alive",
                path: "/alive.txt",
                attempts: 2,
                wait: 1,
                timeout: 2,
                initialDelay: 2,
              },
              { type: "readiness", name: "ready", path: "/ready.txt", attempts: 2, wait: 1, timeout: 2 },
            ],
          },
        }),
      );
    });
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const scale = await p.cli(["ps:scale", "web=3", "--app", app]);
    expect(scale.code, scale.stderr).toBe(0);
    // And a second worker on the manager's engine, on the host (off the overlay): it must not
    // probe (every probe would fail and replace healthy tasks), and it shares the manager
    // node's restarts with the platform's container through the node's lease. Started after
    // the push: its deploy checks could not reach the tasks either.
    await nodeWorkers.start("manager", engine.socket, common);
  }, 300_000);

  afterAll(async () => {
    await nodeWorkers.stopAll();
    redis?.disconnect();
    await p.stop().catch(() => {});
    await cluster.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("replaces a task on a worker node that fails liveness, through that node's worker, once", async () => {
    // 3 tasks up, and at least one on a worker node (Swarm spreads them).
    const workerNames = cluster.workers.map((w) => w.name);
    let procs: Proc[] = [];
    for (let i = 0; i < 120; i++) {
      procs = (await ps()).filter((x) => x.state === "up");
      if (procs.length === 3 && procs.some((x) => workerNames.includes(x.node))) break;
      await sleep(500);
    }
    const victim = procs.find((x) => workerNames.includes(x.node));
    expect(victim, JSON.stringify(procs)).toBeDefined();
    if (!victim) return;
    const node = cluster.workers.find((w) => w.name === victim.node);
    if (!node) throw new Error(`no worker node ${victim.node}`);
    const slot = Number(victim.name.split(".")[1]);
    const before = (await containersOn(node.docker)).find(
      (c) => c.running && c.task.startsWith(victim.container),
    );
    expect(before, `task ${victim.container} on ${node.name}`).toBeDefined();
    if (!before) return;
    // The tasks pass their checks: no restart so far.
    for (let i = 0; i < 5; i++) expect((await get()).status).toBe(200);
    expect(restartLines(await logs())).toEqual([]);
    const failedBefore = (await failedBySlot()).get(slot) ?? 0;

    // This task (only) starts failing liveness.
    await run(node.docker, before.id, ["rm", "-f", "/www/alive.txt"]);

    // Its container is killed on its node and Swarm starts a new task in the slot.
    let after: Awaited<ReturnType<typeof containersOn>>[number] | undefined;
    for (let i = 0; i < 120 && !after; i++) {
      await sleep(500);
      const list = await containersOn(node.docker);
      const old = list.find((c) => c.id === before.id);
      if (old?.running) continue;
      after = list.find((c) => c.running && c.slot === slot && c.id !== before.id);
      // Swarm may place the new task on another node: look there too.
      if (!after)
        for (const w of [engine, ...cluster.workers].filter((e) => e !== node)) {
          const elsewhere = (await containersOn(w.docker)).find((c) => c.running && c.slot === slot);
          if (elsewhere) {
            after = elsewhere;
            break;
          }
        }
    }
    expect(after, `a new task in slot ${slot}`).toBeDefined();
    if (!after) return;
    expect(after.id).not.toBe(before.id);
    expect(after.task).not.toBe(before.task);
    expect((await containersOn(node.docker)).find((c) => c.id === before.id)?.running).not.toBe(true);

    // The node's own worker did it (the manager's worker cannot reach that engine).
    const nodeWorker = nodeWorkers.all.find((w) => w.node === node.name);
    let acted = false;
    for (let i = 0; i < 20 && !acted; i++) {
      acted = nodeWorker?.output().includes("liveness check failed: restarting the task") ?? false;
      if (!acted) await sleep(250);
    }
    expect(acted, nodeWorker?.output()).toBe(true);

    // The new task is back in the route (its overlay address, by task id), and answers.
    const newTask = after.task.slice(0, 12);
    let inRoute = false;
    for (let i = 0; i < 60 && !inRoute; i++) {
      inRoute = (await routeIds()).includes(newTask);
      if (!inRoute) await sleep(500);
    }
    expect(inRoute).toBe(true);
    expect((await ps()).find((x) => x.name === victim.name)?.container).toBe(newTask);
    for (let i = 0; i < 6; i++) expect((await get()).status).toBe(200);

    // The restart is in paas logs, as the slot's platform event.
    let text = "";
    for (let i = 0; i < 30; i++) {
      text = await logs();
      if (restartLines(text, victim.name).length > 0) break;
      await sleep(500);
    }
    expect(restartLines(text, victim.name), text).toHaveLength(1);

    // No storm: several probe periods later, that one restart is still the only one, and
    // its slot has exactly one more failed task.
    await sleep(8_000);
    text = await logs();
    expect(restartLines(text), text).toHaveLength(1);
    expect((await failedBySlot()).get(slot) ?? 0).toBe(failedBefore + 1);
    const up = (await ps()).filter((x) => x.state === "up");
    expect(up.map((x) => x.name).sort()).toEqual(["web.1", "web.2", "web.3"]);
    // The worker off the overlay left the probing to the platform's container.
    const offOverlay = nodeWorkers.all.find((w) => w.node === "manager")?.output() ?? "";
    expect(offOverlay).toContain("this worker is not on the overlay");
    // The request was claimed: nothing waits for that node any more.
    const left = await redis?.keys(`${p.ns}:task-restarts:*`);
    for (const k of left ?? []) expect(await redis?.hlen(k)).toBe(0);
  });

  it("takes a worker node's task failing readiness out of the route and back, in paas logs", async () => {
    const workerNames = cluster.workers.map((w) => w.name);
    const target = (await ps()).find((x) => x.state === "up" && workerNames.includes(x.node));
    expect(target).toBeDefined();
    if (!target) return;
    const node = cluster.workers.find((w) => w.name === target.node);
    if (!node) throw new Error(`no worker node ${target.node}`);
    const c = (await containersOn(node.docker)).find((x) => x.running && x.task.startsWith(target.container));
    expect(c).toBeDefined();
    if (!c) return;
    expect(await routeIds()).toContain(target.container);
    const lines = (text: string, what: string) =>
      text.split("\n").filter((l) => l.includes(`paas[${target.name}]: Readiness check "ready" ${what}`));

    await run(node.docker, c.id, ["rm", "-f", "/www/ready.txt"]);
    let out = false;
    for (let i = 0; i < 60 && !out; i++) {
      out = !(await routeIds()).includes(target.container);
      if (!out) await sleep(500);
    }
    expect(out).toBe(true);
    let text = "";
    for (let i = 0; i < 30 && lines(text, "failing: out of the route").length === 0; i++) {
      if (i > 0) await sleep(500);
      text = await logs();
    }
    expect(lines(text, "failing: out of the route"), text).toHaveLength(1);

    await run(node.docker, c.id, ["sh", "-c", "echo ready > /www/ready.txt"]);
    let back = false;
    for (let i = 0; i < 60 && !back; i++) {
      back = (await routeIds()).includes(target.container);
      if (!back) await sleep(500);
    }
    expect(back).toBe(true);
    for (let i = 0; i < 30 && lines(text, "passes: back in the route").length === 0; i++) {
      if (i > 0) await sleep(500);
      text = await logs();
    }
    expect(lines(text, "passes: back in the route"), text).toHaveLength(1);
    // Readiness never restarts: the same container serves on.
    expect((await containersOn(node.docker)).find((x) => x.id === c.id)?.running).toBe(true);
  });
});
