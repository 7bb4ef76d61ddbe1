import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";
import { routerGet, SwarmEngine, sleep } from "../helpers/swarm-engine.js";

// PAAS_SCHEDULER=swarm end to end on a 1-node Swarm of the test's own (a second dockerd in
// its own network namespace). The API and git roles run on the host as usual; the worker
// and router roles run in a container attached to the swarm's overlay network, as in
// production (they must reach the tasks' overlay addresses: no IPVS, no routing mesh), with
// their own data dir, as a worker on another host would.

describe("swarm scheduler on a 1-node swarm", () => {
  const engine = new SwarmEngine();
  const p = new Platform();
  const app = `sw-${Date.now().toString(36)}`;
  let repo = "";
  const host = () => `${app}.paas.test`;
  const get = (urlPath = "/") => routerGet(engine.engineIp, engine.routerPort, host(), urlPath);
  const psJson = async () =>
    JSON.parse((await p.cli(["ps", "--json", "--app", app])).stdout) as {
      name: string;
      state: string;
      node?: string;
    }[];

  beforeAll(async () => {
    await engine.start(["paas/busybox:latest", "paas/debian:bookworm", "paas/redis:7"]);
    await engine.startRegistry();
    const common = {
      PAAS_SCHEDULER: "swarm",
      PAAS_REDIS_URL: engine.redisUrl,
      PAAS_SCAN_POLICY: "off",
      // The worker has no access to the API host's data dir: secrets at rest need the key.
      PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
    };
    // API and git on the host (the git receiver needs git); no Docker needed there.
    await p.start({ ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` });
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    // Worker and router: in a container on the overlay, driving the test engine, with a
    // data dir of their own (a build worker on another host: the source comes through Redis).
    await engine.startWorker(p.ns, {
      ...common,
      PAAS_DOMAIN: "paas.test",
      PAAS_START_TIMEOUT: "30",
      PAAS_DRAIN_SECONDS: "2",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_RECONCILE_INTERVAL: "5",
      PAAS_RELEASE_RETENTION: "2",
      PAAS_REGISTRY: engine.registry,
      PAAS_REGISTRY_CONFIG: engine.registryConfig,
    });
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await p.stop().catch(() => {});
    await engine.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("deploys a push as a Swarm service and serves it through the router on the overlay", async () => {
    const push = await p.git(["push", "paas", "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code, out).toBe(0);
    expect(out).toContain("Checking 1 new task(s)");
    // Built by the worker in the container from the archive carried through Redis.
    expect(out).toContain("dockerignore honoured");
    const res = await get();
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain("hello from dockerfile-hello");
    const services = await engine.docker.listServices({
      filters: JSON.stringify({ label: [`paas.app=${app}`] }),
    });
    expect(services).toHaveLength(1);
    const spec = services[0].Spec as {
      EndpointSpec: { Mode: string; Ports?: unknown[] };
      UpdateConfig: { Order: string; FailureAction: string };
      Mode: { Replicated: { Replicas: number } };
    };
    expect(spec.EndpointSpec.Mode).toBe("dnsrr");
    expect(spec.EndpointSpec.Ports ?? []).toHaveLength(0);
    expect(spec.UpdateConfig).toMatchObject({ Order: "start-first", FailureAction: "rollback" });
    expect(spec.Mode.Replicated.Replicas).toBe(1);
    // The network plugin's container-env answer reaches the service: the app's network (an
    // overlay in swarm mode, dots made dashes) with the type's discovery name, and the task
    // is attached to it.
    const appNet = `${p.ns}-app-${app}`;
    const nets = (
      services[0].Spec as { TaskTemplate: { Networks: { Target: string; Aliases?: string[] }[] } }
    ).TaskTemplate.Networks;
    const overlay = await engine.docker.getNetwork(appNet).inspect();
    expect(overlay.Scope).toBe("swarm");
    expect(nets.find((n) => n.Target === overlay.Id || n.Target === appNet)?.Aliases).toEqual([
      `web.${app}.internal`,
    ]);
    const [task] = await engine.docker.listTasks({
      filters: JSON.stringify({ service: [services[0].ID], "desired-state": ["running"] }),
    });
    const attached = (task as { NetworksAttachments?: { Network: { Spec: { Name: string } } }[] })
      .NetworksAttachments;
    expect(attached?.map((a) => a.Network.Spec.Name)).toContain(appNet);
    // Pushed to the registry and deployed by digest.
    const image = (services[0].Spec as { TaskTemplate: { ContainerSpec: { Image: string } } }).TaskTemplate
      .ContainerSpec.Image;
    expect(image).toMatch(new RegExp(`^${engine.registry}/${p.ns}/${app}:v1@sha256:[0-9a-f]{64}$`));
    // The worker pushed the local base images too, for nodes that join later.
    let catalog: string[] = [];
    for (let i = 0; i < 60 && !catalog.includes("paas/debian"); i++) {
      catalog = (
        (await (await fetch(`http://${engine.registry}/v2/_catalog`)).json()) as { repositories: string[] }
      ).repositories;
      if (!catalog.includes("paas/debian")) await sleep(500);
    }
    expect(catalog).toEqual(expect.arrayContaining(["paas/busybox", "paas/debian"]));
    const ps = await psJson();
    expect(ps.map((x) => `${x.name}:${x.state}`)).toEqual(["web.1:up"]);
    expect(ps[0].node).toBeTruthy();
  });

  it("scales to 3 tasks, all in the route", async () => {
    const res = await p.cli(["ps:scale", "web=3", "--app", app]);
    expect(res.code, res.stderr).toBe(0);
    const ps = await psJson();
    expect(ps.filter((x) => x.state === "up").map((x) => x.name)).toEqual(["web.1", "web.2", "web.3"]);
    for (let i = 0; i < 6; i++) expect((await get()).status).toBe(200);
  });

  it("changes config under load with 0 failed requests", async () => {
    let failed = 0;
    let ok = 0;
    let done = false;
    const load = (async () => {
      while (!done) {
        const r = await get();
        if (r.status === 200) ok++;
        else failed++;
      }
    })();
    const set = await p.cli(["config:set", "GREETING=hi", "--app", app]);
    await sleep(3_000); // the old services drain and go while requests keep coming
    done = true;
    await load;
    expect(set.code, set.stderr).toBe(0);
    console.log(`swarm config:set under load: ${ok} ok, ${failed} failed`);
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBe(0);
  });

  it("rejects a push whose startup check fails and keeps the old release serving", async () => {
    await fsp.writeFile(
      path.join(repo, "app.json"),
      JSON.stringify({
        healthchecks: {
          web: [{ type: "startup", name: "boot", path: "/missing", attempts: 2, wait: 1, timeout: 2 }],
        },
      }),
    );
    await p.git(["add", "app.json"], repo);
    await p.git(["commit", "-q", "-m", "a failing check"], repo);
    const push = await p.git(["push", "paas", "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code, out).not.toBe(0);
    expect(out).toContain('health check "boot" failed');
    expect((await get()).status).toBe(200);
    const services = await engine.docker.listServices({
      filters: JSON.stringify({ label: [`paas.app=${app}`] }),
    });
    expect(services).toHaveLength(1);
  });

  it("lists the nodes, prints the join command and places a type by constraint", async () => {
    const nodes = await p.cli(["nodes", "--json"]);
    expect(nodes.code, nodes.stderr).toBe(0);
    const list = JSON.parse(nodes.stdout) as {
      role: string;
      availability: string;
      tasks: number;
      leader: boolean;
    }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ role: "manager", availability: "active", leader: true });
    expect(list[0].tasks).toBeGreaterThanOrEqual(3);
    const join = await p.cli(["nodes:join-command"]);
    expect(join.stdout).toMatch(new RegExp(`^docker swarm join --token SWMTKN-\\S+ ${engine.engineIp}:2377`));
    const bad = await p.cli(["ps:placement", "web", "zone=a", "--app", app]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("is not a placement constraint");
    // An add-on in swarm mode is a Swarm service pinned to the manager's node: addons:info says so
    // (swarm-addons.test.ts tests it end to end).
    const addon = `rd-${app}`;
    const created = await p.cli(["addons:create", "redis", "--name", addon, "--app", app]);
    expect(created.code, created.stderr + created.stdout).toBe(0);
    const addonInfo = await p.cli(["addons:info", addon]);
    expect(addonInfo.code, addonInfo.stderr).toBe(0);
    expect(addonInfo.stdout).toContain("Placement:   pinned to node");
    // A storage volume (a plugin's container-env mount) pins the service to the manager's node.
    const mount = await p.cli(["storage:mount", "data:/data", "--app", app]);
    expect(mount.code, mount.stderr + mount.stdout).toBe(0);
    const placed = await p.cli(["ps:placement", "web", "node.role==manager", "--json", "--app", app]);
    expect(placed.code, placed.stderr).toBe(0);
    expect(JSON.parse(placed.stdout)).toEqual({ web: ["node.role==manager"] });
    const services = await engine.docker.listServices({
      filters: JSON.stringify({ label: [`paas.app=${app}`] }),
    });
    const current = services.sort((x, y) => (y.CreatedAt ?? "").localeCompare(x.CreatedAt ?? ""))[0];
    const spec = current.Spec as { TaskTemplate: { Placement: { Constraints: string[] } } };
    const nodeId = ((await engine.docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    expect(spec.TaskTemplate.Placement.Constraints).toEqual(["node.role==manager", `node.id==${nodeId}`]);
    const [task] = (await engine.docker.listTasks({
      filters: JSON.stringify({ service: [current.ID], "desired-state": ["running"] }),
    })) as { Status: { ContainerStatus: { ContainerID: string } } }[];
    const mounted = (await engine.docker.getContainer(task.Status.ContainerStatus.ContainerID).inspect())
      .Mounts;
    expect(mounted.map((m) => `${m.Name}:${m.Destination}`)).toContain(`${p.ns}.storage.${app}.data:/data`);
    expect((await get()).status).toBe(200);
    const human = await p.cli(["ps", "--app", app]);
    expect(human.stdout).toMatch(/NAME\s+NODE\s+STATE/);
  });

  it("runs a one-off of the release and shows the tasks' output in paas logs", async () => {
    const run = await p.cli(["run", "--no-tty", "--app", app, "--", "sh", "-c", "echo one-off says $DYNO"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("one-off says run.");
    let logs = "";
    for (let i = 0; i < 40 && !/app\[web\.\d\]: .*url:\//.test(logs); i++) {
      await get();
      await sleep(500);
      logs = (await p.cli(["logs", "-n", "200", "--app", app])).stdout;
    }
    expect(logs, logs).toMatch(/app\[web\.\d\]: .*url:\//);
  });

  it("monitors tasks: failing readiness leaves the route, failing liveness replaces the task", async () => {
    await fsp.writeFile(
      path.join(repo, "app.json"),
      JSON.stringify({
        healthchecks: {
          web: [
            { type: "readiness", name: "ready", path: "/missing", attempts: 2, wait: 1, timeout: 2 },
            { type: "liveness", name: "alive", path: "/missing", attempts: 3, wait: 1, timeout: 2 },
          ],
        },
      }),
    );
    await p.git(["add", "app.json"], repo);
    await p.git(["commit", "-q", "-m", "readiness and liveness checks that fail"], repo);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const web = async () => {
      const list = await engine.docker.listServices({
        filters: JSON.stringify({ label: [`paas.app=${app}`, "paas.process=web"] }),
      });
      return list.sort((x, y) => (y.CreatedAt ?? "").localeCompare(x.CreatedAt ?? ""))[0];
    };
    const svc = await web();
    // Every task fails readiness: none is left in the route.
    let status = 200;
    for (let i = 0; i < 60 && status === 200; i++) {
      await sleep(500);
      status = (await get()).status;
    }
    expect(status).toBe(503);
    // Liveness: the worker killed the tasks' containers and Swarm started new ones in their slots.
    let replaced = 0;
    for (let i = 0; i < 60 && replaced === 0; i++) {
      await sleep(500);
      const tasks = (await engine.docker.listTasks({ filters: JSON.stringify({ service: [svc.ID] }) })) as {
        DesiredState: string;
        Status: { State: string };
      }[];
      replaced = tasks.filter((t) => t.DesiredState === "shutdown" && t.Status.State === "failed").length;
    }
    expect(replaced).toBeGreaterThan(0);
  });

  it("rolls back to the previous release", async () => {
    const before = JSON.parse((await p.cli(["releases", "--json", "--app", app])).stdout) as {
      version: number;
    }[];
    const res = await p.cli(["releases:rollback", "--app", app]);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect((await get()).status).toBe(200);
    const after = JSON.parse((await p.cli(["releases", "--json", "--app", app])).stdout) as {
      version: number;
      description: string;
    }[];
    expect(after.length).toBe(before.length + 1);
    expect(after.some((r) => r.description.startsWith("Rollback to"))).toBe(true);
    // Retention (2 releases) reached the registry: old release tags are gone, GC ran.
    expect(res.stdout + res.stderr).not.toContain("registry retention failed");
    const tags = (await (await fetch(`http://${engine.registry}/v2/${p.ns}/${app}/tags/list`)).json()) as {
      tags: string[];
    };
    // (A config-only release deployed nowhere, e.g. an add-on's URL, has no tag of its own.)
    const kept = after
      .map((r) => Number(String(r.version).replace(/^v/, "")))
      .sort((x, y) => y - x)
      .slice(0, 2)
      .map((v) => `v${v}`);
    expect(tags.tags).toContain(kept[0]);
    expect(tags.tags.filter((t) => !kept.includes(t))).toEqual([]);
    const ps = await psJson();
    expect(ps.filter((x) => x.state === "up")).toHaveLength(3);
  });
});
