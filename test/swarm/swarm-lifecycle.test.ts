import crypto from "node:crypto";
import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";
import { routerGet, SwarmEngine, sleep } from "../helpers/swarm-engine.js";

// ps:scale, apps:rename and apps:destroy in swarm mode, on a 1-node swarm of the test's own (as swarm-single.test.ts: API
// and git on the host, worker and router in a container on the overlay). The old name's
// services went on running forever after a rename (only containers were removed, and Swarm
// replaced them), and its overlay network stayed; apps:destroy left the app's overlay too; a
// scale up within PAAS_DRAIN_SECONDS of a scale to 0 reused the draining service, which was
// then removed (the scale failed, or the type stayed down until reconcile); apps:destroy left
// the app's images in the registry.

describe("app lifecycle on a 1-node swarm", () => {
  const engine = new SwarmEngine();
  const p = new Platform();
  const from = `rn-${Date.now().toString(36)}`;
  const to = `${from}-new`;
  let repo = "";
  const get = (app: string) => routerGet(engine.engineIp, engine.routerPort, `${app}.paas.test`);
  const servicesOf = async (app: string) =>
    (await engine.docker.listServices({ filters: JSON.stringify({ label: [`paas.app=${app}`] }) })).map(
      (s) => (s.Spec as { Name: string }).Name,
    );

  beforeAll(async () => {
    await engine.start(["paas/busybox:latest", "paas/debian:bookworm"]);
    await engine.startRegistry();
    const common = {
      PAAS_SCHEDULER: "swarm",
      PAAS_REDIS_URL: engine.redisUrl,
      PAAS_SCAN_POLICY: "off",
      PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
      PAAS_REGISTRY: engine.registry,
    };
    await p.start({ ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    await engine.startWorker(p.ns, {
      ...common,
      PAAS_DOMAIN: "paas.test",
      PAAS_START_TIMEOUT: "30",
      PAAS_DRAIN_SECONDS: "3",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_REGISTRY_CONFIG: engine.registryConfig,
    });
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", from], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await p.stop().catch(() => {});
    await engine.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("scales to 0 and straight back up: the new tasks stay after the old service drained", async () => {
    const down = await p.cli(["ps:scale", "web=0", "--app", from]);
    expect(down.code, down.stderr).toBe(0);
    const up = await p.cli(["ps:scale", "web=2", "--app", from]);
    expect(up.code, up.stderr + up.stdout).toBe(0);
    // Past the drain (3 s) the scaled-to-0 service is gone, and the new one serves.
    await sleep(5_000);
    expect(await servicesOf(from)).toHaveLength(1);
    const ps = JSON.parse((await p.cli(["ps", "--json", "--app", from])).stdout) as {
      name: string;
      state: string;
    }[];
    expect(ps.map((x) => `${x.name}:${x.state}`)).toEqual(["web.1:up", "web.2:up"]);
    expect((await get(from)).status).toBe(200);
  });

  it("serves under the new name and leaves no service or overlay of the old one", async () => {
    expect((await get(from)).status).toBe(200);
    expect(await servicesOf(from)).toHaveLength(1);
    const res = await p.cli(["apps:rename", to], { cwd: repo });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect((await get(to)).body).toContain("hello from dockerfile-hello");
    expect(await servicesOf(to)).toHaveLength(1);
    // Gone at once, not replaced by Swarm: nothing of the old name runs.
    expect(await servicesOf(from)).toEqual([]);
    let left = -1;
    for (let i = 0; i < 40 && left !== 0; i++) {
      if (left > 0) await sleep(500);
      left = (
        await engine.docker.listContainers({
          all: true,
          filters: JSON.stringify({ label: [`paas.app=${from}`] }),
        })
      ).length;
    }
    expect(left).toBe(0);
    // (The rename job may finish its clean-up just after the API answered.)
    let networks: string[] = [];
    for (let i = 0; i < 40; i++) {
      networks = (await engine.docker.listNetworks()).map((n) => n.Name);
      if (!networks.includes(`${p.ns}-app-${from}`)) break;
      await sleep(500);
    }
    expect(networks).not.toContain(`${p.ns}-app-${from}`);
    expect(networks).toContain(`${p.ns}-app-${to}`);
    // The router's access lines name the dyno as on one engine (web.1), not the task.
    let logs = "";
    for (let i = 0; i < 20 && !/dyno=web\.1 /.test(logs); i++) {
      await get(to);
      await sleep(500);
      logs = (await p.cli(["logs", "-n", "50", "-s", "paas", "--app", to])).stdout;
    }
    expect(logs).toMatch(/dyno=web\.1 /);
  });

  it("apps:destroy leaves no service, overlay or registry image of the app", async () => {
    const tagsOf = async (app: string) => {
      const res = await fetch(`http://${engine.registry}/v2/${p.ns}/${app}/tags/list`);
      return res.status === 404 ? [] : (((await res.json()) as { tags?: string[] | null }).tags ?? []);
    };
    expect(await tagsOf(to)).toEqual(["v1"]);
    const res = await p.cli(["apps:destroy", to, "--confirm", to], { cwd: repo });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(await servicesOf(to)).toEqual([]);
    let networks: string[] = [];
    for (let i = 0; i < 40; i++) {
      networks = (await engine.docker.listNetworks()).map((n) => n.Name).filter((n) => n.includes(to));
      if (networks.length === 0) break;
      await sleep(500);
    }
    expect(networks).toEqual([]);
    expect(await tagsOf(to)).toEqual([]);
  });
});
