import crypto from "node:crypto";
import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";
import { routerGet, SwarmEngine, sleep } from "../helpers/swarm-engine.js";

// Swarm mode with a registry that wants auth (htpasswd, bcrypt), on a 1-node swarm of the
// test's own: the worker pushes with PAAS_REGISTRY_USERNAME/PASSWORD, services carry them
// (X-Registry-Auth) so the node pulls the release by digest, and anonymous access gets 401.
// The registry speaks plain HTTP inside the engine's namespace: it is in that engine's
// insecure-registries (test setups only), and Docker sends basic auth to it all the same.

describe("swarm mode with an authenticated registry", () => {
  const engine = new SwarmEngine();
  const p = new Platform();
  const app = `swr-${Date.now().toString(36)}`;
  const auth = { username: "paas", password: `pw-${crypto.randomBytes(8).toString("hex")}` };
  const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  let repo = "";
  const get = () => routerGet(engine.engineIp, engine.routerPort, `${app}.paas.test`);
  const registryGet = (path: string, authorized: boolean) =>
    fetch(`http://${engine.registry}${path}`, { headers: authorized ? { authorization: basic } : {} });
  const appServices = () =>
    engine.docker.listServices({ filters: JSON.stringify({ label: [`paas.app=${app}`] }) });
  const imageOf = (svc: { Spec?: unknown }) =>
    (svc.Spec as { TaskTemplate: { ContainerSpec: { Image: string } } }).TaskTemplate.ContainerSpec.Image;
  const platformLogs = async () =>
    String(await engine.docker.getContainer(`${p.ns}-platform`).logs({ stdout: true, stderr: true }));

  beforeAll(async () => {
    await engine.start(["paas/busybox:latest", "paas/debian:bookworm"]);
    await engine.startRegistry({ auth });
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
      PAAS_DRAIN_SECONDS: "1",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_REGISTRY_CONFIG: engine.registryConfig,
      PAAS_REGISTRY_USERNAME: auth.username,
      PAAS_REGISTRY_PASSWORD: auth.password,
    });
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await p.stop().catch(() => {});
    await engine.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("pushes with the credentials and deploys by digest; anonymous access gets 401", async () => {
    const push = await p.git(["push", "paas", "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code, out).toBe(0);
    expect(out).toContain(`Pushing ${engine.registry}/${p.ns}/${app}:v1`);
    const res = await get();
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain("hello from dockerfile-hello");
    const [svc] = await appServices();
    expect(imageOf(svc)).toMatch(new RegExp(`^${engine.registry}/${p.ns}/${app}:v1@sha256:[0-9a-f]{64}$`));

    expect((await registryGet("/v2/", false)).status).toBe(401);
    expect((await registryGet("/v2/_catalog", false)).status).toBe(401);
    expect((await registryGet(`/v2/${p.ns}/${app}/tags/list`, false)).status).toBe(401);
    const tags = await registryGet(`/v2/${p.ns}/${app}/tags/list`, true);
    expect(tags.status).toBe(200);
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual(["v1"]);
    // The worker said which registry it uses, and the base images got there with the credentials.
    let catalog: string[] = [];
    for (let i = 0; i < 60 && !catalog.includes("paas/debian"); i++) {
      catalog = ((await (await registryGet("/v2/_catalog", true)).json()) as { repositories: string[] })
        .repositories;
      if (!catalog.includes("paas/debian")) await sleep(500);
    }
    expect(catalog).toEqual(expect.arrayContaining([`${p.ns}/${app}`, "paas/busybox", "paas/debian"]));
    const logs = await platformLogs();
    expect(logs).toContain(`registry ${engine.registry}, http, user paas`);
    expect(logs).not.toContain(auth.password);
  });

  it("a node that lacks the image pulls it by digest with the services' credentials, and not without", async () => {
    const [svc] = await appServices();
    const image = imageOf(svc);
    const [named, digest] = image.split("@");
    const repoName = named.slice(0, named.lastIndexOf(":"));
    // The engine forgets the registry's names for the image (its local build tag stays), so a
    // new task must fetch the manifest from the registry.
    const forget = async () => {
      for (const ref of [named, `${repoName}@${digest}`]) {
        await engine.docker
          .getImage(ref)
          .remove()
          .catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 404) throw err;
          });
      }
    };
    await forget();

    // Without credentials the node cannot pull it.
    const anonymous = (await engine.docker.createService({
      Name: `${p.ns}-anon-pull`,
      Labels: { "paas.managed": "true", "paas.namespace": p.ns },
      TaskTemplate: {
        ContainerSpec: { Image: image, Command: ["sleep", "60"] },
        RestartPolicy: { Condition: "none" },
      },
      Mode: { Replicated: { Replicas: 1 } },
    })) as unknown as { id: string };
    let failure = "";
    for (let i = 0; i < 120 && !failure; i++) {
      const tasks = (await engine.docker.listTasks({
        filters: JSON.stringify({ service: [anonymous.id] }),
      })) as { Status?: { State?: string; Err?: string } }[];
      const failed = tasks.find((t) => ["rejected", "failed"].includes(t.Status?.State ?? ""));
      if (failed) failure = failed.Status?.Err ?? "";
      else {
        expect(
          tasks.some((t) => t.Status?.State === "running"),
          "ran without credentials",
        ).toBe(false);
        await sleep(500);
      }
    }
    await engine.docker.getService(anonymous.id).remove();
    // Swarm reports the failed pull as the image it then cannot find.
    expect(failure).toMatch(/no basic auth credentials|unauthorized|authentication required|no such image/i);

    // Through the platform (services created with X-Registry-Auth) the new task pulls and serves.
    const restart = await p.cli(["ps:restart", "--app", app]);
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    // A new service replaced the old one (retired after the drain).
    let services = await appServices();
    for (let i = 0; i < 60 && services.some((x) => x.ID === svc.ID); i++) {
      await sleep(500);
      services = await appServices();
    }
    expect(services).toHaveLength(1);
    expect(services[0].ID).not.toBe(svc.ID);
    expect(imageOf(services[0])).toBe(image);
    expect((await get()).status).toBe(200);
    const pulled = await engine.docker.getImage(`${repoName}@${digest}`).inspect();
    expect(pulled.RepoDigests).toContain(`${repoName}@${digest}`);

    // Rescaling updates the service in place (with the credentials): the added task pulls too.
    await forget();
    const scale = await p.cli(["ps:scale", "web=2", "--app", app]);
    expect(scale.code, scale.stdout + scale.stderr).toBe(0);
    const ps = JSON.parse((await p.cli(["ps", "--json", "--app", app])).stdout) as { state: string }[];
    expect(ps.filter((x) => x.state === "up")).toHaveLength(2);
    expect((await get()).status).toBe(200);
  });
});
