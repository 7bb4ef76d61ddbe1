import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";
import { routerGet, SwarmEngine, sleep } from "../helpers/swarm-engine.js";

// Add-ons in swarm mode, end to end on a 1-node swarm of the test's own: an add-on is a Swarm
// service pinned to a node, on an attachable overlay the app's tasks join, so the URL's host
// (`<addon>.<app>.internal`) resolves from the tasks. The app answers each request by talking
// to its add-ons (redis-cli PING to REDIS_URL; a TCP connect to DATABASE_URL's host), so a 200
// with PONG through the router is the task reaching the add-on.

interface ServiceSpec {
  Labels: Record<string, string>;
  Mode: { Replicated: { Replicas: number } };
  EndpointSpec: { Mode: string; Ports?: unknown[] };
  TaskTemplate: {
    RestartPolicy: { Condition: string };
    Placement: { Constraints?: string[] };
    Networks: { Target: string; Aliases?: string[] }[];
    ContainerSpec: { Mounts: { Source: string; Target: string }[] };
  };
}

// REDIS_URL is redis://:PASSWORD@HOST:PORT; the password goes in the environment, as redis:cli does.
const CGI_REDIS = `#!/bin/sh
rest="\${REDIS_URL#redis://:}"; hp="\${rest#*@}"
body="$(REDISCLI_AUTH="\${rest%%@*}" timeout 5 redis-cli -h "\${hp%%:*}" -p "\${hp##*:}" PING 2>&1)"
printf 'Content-Type: text/plain\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "\${#body}" "$body"
`;
// DATABASE_URL's host and port, then a TCP connect through bash's /dev/tcp (DNS included).
const CGI_PG = `#!/bin/bash
hostport="\${DATABASE_URL#*@}"; hostport="\${hostport%%/*}"; host="\${hostport%%:*}"
if timeout 5 bash -c "exec 3<>/dev/tcp/$host/\${hostport##*:}" 2>/dev/null; then body="pg open $host"; else body="pg closed $host"; fi
printf 'Content-Type: text/plain\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "\${#body}" "$body"
`;
// The add-on image has redis-cli and bash; busybox's httpd serves the CGI scripts.
const DOCKERFILE = `FROM paas/redis:7
COPY --from=paas/busybox:latest /bin/busybox /bin/busybox
COPY www /www
ENTRYPOINT []
CMD ["/bin/sh", "-c", "exec /bin/busybox httpd -f -p $PORT -h /www"]
`;

describe("add-ons in swarm mode on a 1-node swarm", () => {
  const engine = new SwarmEngine();
  const p = new Platform();
  const app = `swa-${Date.now().toString(36)}`;
  const other = `${app}-b`;
  const redis = `rd-${app}`;
  const pg = `pg-${app}`;
  let repo = "";
  let nodeId = "";
  let hostname = "";
  const get = (urlPath: string) => routerGet(engine.engineIp, engine.routerPort, `${app}.paas.test`, urlPath);
  const service = async (name: string) => {
    const list = await engine.docker.listServices({ filters: JSON.stringify({ name: [name] }) });
    return list.find((s) => s.Spec?.Name === name);
  };
  /** The worker's last lines, for a failing assertion's message. */
  const platformLog = async () =>
    String(
      await engine.docker.getContainer(`${p.ns}-platform`).logs({ stdout: true, stderr: true, tail: 40 }),
    );
  /** What the app's web task sees (its add-on names, a PING), for a failing assertion's message. */
  const fromTask = async () => {
    const [c] = await engine.docker.listContainers({
      filters: JSON.stringify({ label: [`paas.app=${app}`, "paas.process=web"] }),
    });
    if (!c) return "no web task container";
    const exec = await engine.docker.getContainer(c.Id).exec({
      Cmd: [
        "sh",
        "-c",
        'env | grep _URL | sed "s/:[^:@]*@/:***@/"; getent hosts ' +
          `${redis}.${app}.internal; ls -l /www/cgi-bin; /www/cgi-bin/redis 2>&1`,
      ],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    let out = "";
    stream.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    await new Promise((r) => stream.on("end", r));
    return `\n--- from the web task:\n${out}`;
  };
  const untilBody = async (urlPath: string, want: string, tries = 60) => {
    let last = { status: 0, body: "" };
    for (let i = 0; i < tries; i++) {
      last = await get(urlPath);
      if (last.status === 200 && last.body.includes(want)) return last;
      await sleep(1_000);
    }
    return last;
  };

  beforeAll(async () => {
    await engine.start(["paas/busybox:latest", "paas/debian:bookworm", "paas/redis:7", "paas/postgres:15"]);
    const info = (await engine.docker.info()) as { Swarm: { NodeID: string }; Name: string };
    nodeId = info.Swarm.NodeID;
    hostname = info.Name;
    const common = {
      PAAS_SCHEDULER: "swarm",
      PAAS_REDIS_URL: engine.redisUrl,
      PAAS_SCAN_POLICY: "off",
      PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
    };
    await p.start({ ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` });
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    // Worker and router in a container on the overlay, driving the test engine (no registry:
    // images stay on this one node, deployed by tag).
    await engine.startWorker(p.ns, {
      ...common,
      PAAS_DOMAIN: "paas.test",
      PAAS_START_TIMEOUT: "30",
      PAAS_DRAIN_SECONDS: "1",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_RECONCILE_INTERVAL: "5",
    });
    repo = await p.fixtureRepo("dockerfile-hello", async (dir) => {
      await fsp.writeFile(path.join(dir, "Dockerfile"), DOCKERFILE);
      await fsp.mkdir(path.join(dir, "www/cgi-bin"), { recursive: true });
      await fsp.writeFile(path.join(dir, "www/cgi-bin/redis"), CGI_REDIS, { mode: 0o755 });
      await fsp.writeFile(path.join(dir, "www/cgi-bin/pg"), CGI_PG, { mode: 0o755 });
    });
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await p.stop().catch(() => {});
    await engine.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("runs a redis add-on as a pinned Swarm service the app's task reaches through the router", async () => {
    const created = await p.cli(["addons:create", "redis", "--name", redis, "--app", app]);
    expect(created.code, created.stderr + created.stdout).toBe(0);
    expect(created.stdout).toContain(`Pinned to node ${hostname}`);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const res = await untilBody("/cgi-bin/redis", "PONG");
    expect(res.body, (await fromTask()) + (await platformLog())).toContain("PONG");

    const svc = await service(`${p.ns}-addon-${redis}`);
    expect(svc, "the add-on's service").toBeTruthy();
    const spec = svc!.Spec as unknown as ServiceSpec;
    expect(spec.Labels).toMatchObject({ "paas.namespace": p.ns, "paas.kind": "addon", "paas.addon": redis });
    expect(spec.Mode.Replicated.Replicas).toBe(1);
    expect(spec.EndpointSpec.Mode).toBe("dnsrr");
    expect(spec.EndpointSpec.Ports ?? []).toHaveLength(0);
    expect(spec.TaskTemplate.RestartPolicy.Condition).toBe("any");
    expect(spec.TaskTemplate.Placement.Constraints).toEqual([`node.id==${nodeId}`]);
    expect(spec.TaskTemplate.ContainerSpec.Mounts.map((m) => m.Source)).toEqual([
      `${p.ns}-addon-${redis}-data`,
    ]);
    expect(spec.TaskTemplate.Networks[0].Aliases).toEqual([redis, `${redis}.${app}.internal`]);
    const net = await engine.docker.getNetwork(`${p.ns}-addon-${redis}`).inspect();
    expect(net).toMatchObject({ Scope: "swarm", Driver: "overlay", Attachable: true });
    // No plain container of the add-on outside Swarm: its only container is the task's.
    const containers = await engine.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`paas.addon=${redis}`] }),
    });
    expect(containers).toHaveLength(1);
    expect(containers[0].Labels["com.docker.swarm.service.id"]).toBe(svc!.ID);
  });

  it("addons:info says which node the add-on is pinned to and why; redis:cli reaches it", async () => {
    const info = await p.cli(["addons:info", redis]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain("State:       running");
    expect(info.stdout).toContain(`Swarm service ${p.ns}-addon-${redis}`);
    expect(info.stdout).toContain(`pinned to node ${hostname} (node.id==${nodeId})`);
    expect(info.stdout).toContain("no volume driver spanning");
    const cli = await p.cli(["redis:cli", "SET", "swarm-key", "kept", "--app", app]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain("OK");
    const ps = await p.cli(["ps", "--app", app]);
    expect(ps.stdout).toContain(`${redis} (redis) as REDIS_URL: running`);
  });

  it("a postgres add-on is reachable from the task too, and pg:psql runs in its task", async () => {
    const bad = await p.cli(["addons:create", "postgres", "--node", "no-such-node", "--app", app]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('no node "no-such-node" in the swarm');
    // --node by host name: pinned there.
    const created = await p.cli([
      "addons:create",
      "postgres",
      "--name",
      pg,
      "--node",
      hostname,
      "--app",
      app,
    ]);
    expect(created.code, created.stderr + created.stdout).toBe(0);
    expect(created.stdout).toContain(`Pinned to node ${hostname}`);
    const res = await untilBody("/cgi-bin/pg", "pg open");
    expect(res.body, res.body).toContain(`pg open ${pg}.${app}.internal`);
    const sql = await p.cli(["pg:psql", "--command", "select 40 + 2 as answer", "--app", app]);
    expect(sql.code, sql.stderr).toBe(0);
    expect(sql.stdout).toContain("42");
  });

  it("attaching to a second app adds its alias to the service; the first app still reaches it", async () => {
    expect((await p.cli(["apps:create", other])).code).toBe(0);
    const attach = await p.cli(["addons:attach", redis, "--app", other]);
    expect(attach.code, attach.stderr + attach.stdout).toBe(0);
    const spec = (await service(`${p.ns}-addon-${redis}`))!.Spec as unknown as ServiceSpec;
    expect(spec.TaskTemplate.Networks[0].Aliases).toContain(`${redis}.${other}.internal`);
    expect((await untilBody("/cgi-bin/redis", "PONG")).body).toContain("PONG");
    const detach = await p.cli(["addons:detach", redis, "--app", other]);
    expect(detach.code, detach.stderr + detach.stdout).toBe(0);
  });

  it("reconcile brings back a removed add-on service with its data", async () => {
    const svc = await service(`${p.ns}-addon-${redis}`);
    await engine.docker.getService(svc!.ID).remove();
    let back: Awaited<ReturnType<typeof service>>;
    for (let i = 0; i < 60; i++) {
      back = await service(`${p.ns}-addon-${redis}`);
      if (back && back.ID !== svc!.ID) break;
      await sleep(1_000);
    }
    expect(back?.ID, await platformLog()).not.toBe(svc!.ID);
    expect((await untilBody("/cgi-bin/redis", "PONG")).body).toContain("PONG");
    let got = "";
    for (let i = 0; i < 30 && !got.includes("kept"); i++) {
      got = (await p.cli(["redis:cli", "GET", "swarm-key", "--app", app])).stdout;
      if (!got.includes("kept")) await sleep(1_000);
    }
    expect(got).toContain("kept");
  });

  it("addons:destroy removes the service, its volume and (once the app left it) its network", async () => {
    for (const name of [redis, pg]) {
      const res = await p.cli(["addons:destroy", name, "--confirm", name, "--app", app]);
      expect(res.code, res.stderr + res.stdout).toBe(0);
      expect(await service(`${p.ns}-addon-${name}`)).toBeUndefined();
      const volumes = (await engine.docker.listVolumes()).Volumes ?? [];
      expect(volumes.map((v) => v.Name)).not.toContain(`${p.ns}-addon-${name}-data`);
    }
    const left = async () =>
      (await engine.docker.listNetworks({ filters: JSON.stringify({ label: ["paas.kind=addon"] }) })).filter(
        (n) => n.Labels?.["paas.namespace"] === p.ns,
      );
    for (let i = 0; i < 60 && (await left()).length > 0; i++) await sleep(1_000);
    expect((await left()).map((n) => n.Name)).toEqual([]);
    const config = await p.cli(["config", "--json", "--app", app]);
    expect(Object.keys(JSON.parse(config.stdout))).not.toContain("REDIS_URL");
    // The app keeps serving without its add-ons.
    expect((await get("/")).status).toBe(200);
  });
});
