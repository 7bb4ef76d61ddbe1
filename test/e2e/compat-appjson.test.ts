import fsp from "node:fs/promises";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, httpGet, Platform, sh } from "../helpers/platform.js";

// Apps written for Heroku and Dokku, pushed unchanged: the default formation, app.json
// formation, app.json with comments, Dokku's deployment scripts, and liveness/readiness
// checks. One platform, several apps; real dockerd, Redis, git and CLI.

const docker = new Docker();

async function eventually(check: () => Promise<boolean>, tries = 60, everyMs = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

interface Proc {
  name: string;
  state: string;
}

describe("Heroku and Dokku apps pushed unchanged", () => {
  const p = new Platform();
  const repos: string[] = [];
  const suffix = Date.now().toString(36);

  beforeAll(async () => {
    // Frequent reconciles: the readiness test shows they do not put an unready container back.
    await p.start({ PAAS_RECONCILE_INTERVAL: "2" });
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const r of repos) await fsp.rm(r, { recursive: true, force: true });
  });

  async function createApp(fixture: string, mutate?: (dir: string) => Promise<void>) {
    const repo = await p.fixtureRepo(fixture, mutate);
    repos.push(repo);
    const app = `${fixture.replace("compat-", "c-")}-${suffix}`;
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    return { repo, app };
  }

  async function push(repo: string) {
    const r = await p.git(["push", "paas", "main"], repo);
    return { code: r.code, out: r.stdout + r.stderr };
  }

  async function emptyCommit(repo: string, message: string) {
    const r = await p.git(["commit", "-q", "--allow-empty", "-m", message], repo);
    expect(r.code, r.stderr).toBe(0);
  }

  const ps = async (repo: string): Promise<Proc[]> =>
    JSON.parse((await p.cli(["ps", "--json"], { cwd: repo })).stdout) as Proc[];

  const running = async (app: string) =>
    (await dockerContainers(p.ns, app, "app")).filter((c) => c.State === "running");

  it("a Procfile with web, worker, cron, custom and release runs only web; the release command ran", async () => {
    const { repo, app } = await createApp("compat-procfile-types");
    const r = await push(repo);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("Running release command");
    expect(r.out).toMatch(/release command ran for v\d+/);
    expect(r.out).toContain("Formation: cron=0 custom=0 web=1 worker=0");
    expect(r.out).toContain("at 0: start with `paas ps:scale cron=1`");
    expect(r.out).not.toMatch(/Formation: .*release=/);
    expect((await p.get(app)).body).toBe("procfile types web\n");
    const procs = await ps(repo);
    expect(procs.map((x) => `${x.name}:${x.state}`)).toEqual(["web.1:up"]);
    const containers = await running(app);
    expect(containers.map((c) => c.Labels["paas.process"])).toEqual(["web"]);

    // The release command's changes are not kept in the image.
    const marker = await sh("docker", [
      "run",
      "--rm",
      "--label",
      "paas.managed=true",
      "--label",
      `paas.namespace=${p.ns}`,
      containers[0].Image,
      "sh",
      "-c",
      "test -e /release-marker && echo kept || echo not-kept",
    ]);
    expect(marker.stdout.trim(), marker.stderr).toBe("not-kept");

    // Scaled by hand, a type stays scaled on the next deploy.
    const scale = await p.cli(["ps:scale", "worker=1"], { cwd: repo });
    expect(scale.code, scale.stderr).toBe(0);
    await emptyCommit(repo, "again");
    const again = await push(repo);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("Formation: cron=0 custom=0 web=1 worker=1");
    expect(
      await eventually(async () => (await ps(repo)).some((x) => x.name === "worker.1" && x.state === "up")),
    ).toBe(true);
  });

  it("app.json formation web: 0, worker: 1 starts the worker only; size is ignored with a warning", async () => {
    const { repo, app } = await createApp("compat-formation");
    const r = await push(repo);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("Formation: web=0 worker=1");
    expect(r.out).toContain('formation.worker.size ("standard-1x") is ignored');
    expect(r.out).toContain("v1 runs 1 new container(s); no web process, so nothing is routed");
    expect(r.out).not.toContain("Traffic moved");
    expect(
      await eventually(async () => (await running(app)).some((c) => c.Labels["paas.process"] === "worker")),
    ).toBe(true);
    const procs = await ps(repo);
    expect(procs.map((x) => `${x.name}:${x.state}`)).toEqual(["worker.1:up"]);
    expect((await dockerContainers(p.ns, app, "app")).some((c) => c.Labels["paas.process"] === "web")).toBe(
      false,
    );

    // An explicit ps:scale since then wins over app.json on the next deploy.
    const scale = await p.cli(["ps:scale", "worker=2"], { cwd: repo });
    expect(scale.code, scale.stderr).toBe(0);
    await emptyCommit(repo, "redeploy");
    const again = await push(repo);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("Formation: web=0 worker=2");
    expect(again.out).toContain(
      "worker=2 (set with ps:scale) wins over app.json formation worker.quantity=1",
    );
    // max_parallel 1: the two workers start and pass their checks one at a time.
    expect(again.out.match(/Checking 1 new container\(s\)/g)?.length).toBe(2);
    expect(
      await eventually(
        async () =>
          (await ps(repo)).filter((x) => x.state === "up" && x.name.startsWith("worker.")).length === 2,
      ),
    ).toBe(true);
  });

  it("accepts app.json with comments and trailing commas; a syntax error names line and column", async () => {
    const { repo, app } = await createApp("compat-jsonc");
    const r = await push(repo);
    expect(r.code, r.out).toBe(0);
    expect((await p.get(app)).body).toBe("jsonc app\n");

    await fsp.writeFile(path.join(repo, "app.json"), '{\n  // broken\n  "formation" {}\n}\n');
    await p.git(["commit", "-q", "-am", "broken app.json"], repo);
    const bad = await push(repo);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('app.json line 3, column 15: a ":" was expected');
    expect((await p.get(app)).body).toBe("jsonc app\n");
  });

  it("runs scripts.dokku.predeploy into the image, then release, then postdeploy; scripts.postdeploy once", async () => {
    const { repo, app } = await createApp("compat-scripts");
    const set = await p.cli(["config:set", "SECRET_WORD=hush-123"], { cwd: repo });
    expect(set.code, set.stderr).toBe(0);
    const r = await push(repo);
    expect(r.code, r.out).toBe(0);
    const order = [
      "predeploy running",
      "Predeploy changes committed to the release image",
      "release command sees: committed-by-predeploy",
      "postdeploy ran for",
      "first-deploy-only script ran",
      "deployed to paas",
    ].map((s) => r.out.indexOf(s));
    expect(
      order.every((i) => i >= 0),
      r.out,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(r.out).not.toContain("hush-123");

    // The running container has the predeploy's change, and the predeploy saw the config.
    expect((await p.get(app, "/predeploy.txt")).body).toBe("committed-by-predeploy\n");
    expect((await p.get(app, "/saw-config.txt")).body).toBe("yes\n");
    // ...and so does a one-off container of the release (paas run).
    const seen = await p.cli(["run", "--no-tty", "--", "cat", "/www/predeploy.txt"], { cwd: repo });
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stdout).toBe("committed-by-predeploy\n");
    // Committed like any release image: same command, labelled, no config values in it.
    const [web] = await running(app);
    const image = await docker.getImage(web.Image).inspect();
    expect(image.Config.Cmd).toEqual(["sh", "-c", "exec httpd -f -p $PORT -h /www"]);
    expect(image.Config.Labels).toMatchObject({
      "paas.namespace": p.ns,
      "paas.app": app,
      "paas.kind": "release",
    });
    expect(image.Config.Labels["paas.process"]).toBeUndefined();
    expect(JSON.stringify(image.Config.Env)).not.toContain("hush-123");

    // The next deploy runs predeploy and postdeploy again, but not the once-only script.
    await emptyCommit(repo, "second");
    const second = await push(repo);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("predeploy running");
    expect(second.out).toContain("postdeploy ran for");
    expect(second.out).not.toContain("first-deploy-only script ran");

    // A failing predeploy rejects the push; the previous release keeps serving.
    const appJson = JSON.parse(await fsp.readFile(path.join(repo, "app.json"), "utf8"));
    appJson.scripts.dokku.predeploy = "echo predeploy breaking; exit 3";
    await fsp.writeFile(path.join(repo, "app.json"), JSON.stringify(appJson));
    await p.git(["commit", "-q", "-am", "bad predeploy"], repo);
    const bad = await push(repo);
    expect(bad.code).not.toBe(0);
    // Streamed once, not repeated under the failure.
    const printed = bad.out
      .split("\n")
      .filter((l) => l.replace(/^remote:/, "").trim() === "predeploy breaking");
    expect(printed).toHaveLength(1);
    expect(bad.out).toContain("predeploy script failed with exit code 3");
    expect((await p.get(app, "/predeploy.txt")).body).toBe("committed-by-predeploy\n");
  });

  it("readiness takes a failing container out of the route; liveness restarts a failing one", async () => {
    const { repo, app } = await createApp("compat-health");
    const r = await push(repo);
    expect(r.code, r.out).toBe(0);
    expect((await p.get(app)).body).toBe("health app\n");
    const [before] = await running(app);
    const hostPort = before.Ports.find((x) => x.PublicPort)?.PublicPort;
    expect(hostPort).toBeGreaterThan(0);

    // Readiness: out of the route while /ready fails, and reconcile does not put it back.
    await p.get(app, "/cgi-bin/unready");
    expect(await eventually(async () => (await p.get(app)).status === 503)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await new Promise((res) => setTimeout(res, 2_000));
      expect((await p.get(app)).status).toBe(503);
    }
    expect((await running(app)).map((c) => c.Id)).toEqual([before.Id]);
    await httpGet(hostPort!, `${app}.paas.test`, "/cgi-bin/ready");
    expect(await eventually(async () => (await p.get(app)).status === 200)).toBe(true);
    expect(p.output).toContain("readiness check failing: the container is out of the route");

    // Liveness: the same container (same id) is restarted, and serves again.
    const startedBefore = (await docker.getContainer(before.Id).inspect()).State.StartedAt;
    await p.get(app, "/cgi-bin/break");
    expect(
      await eventually(
        async () => (await docker.getContainer(before.Id).inspect()).State.StartedAt !== startedBefore,
      ),
    ).toBe(true);
    expect(await eventually(async () => (await p.get(app, "/alive")).status === 200)).toBe(true);
    expect((await running(app)).map((c) => c.Id)).toEqual([before.Id]);
    expect(p.output).toContain("liveness check failed: restarting the container");
    // The app's own log says so too.
    let logs = "";
    expect(
      await eventually(async () => {
        logs = (await p.cli(["logs", "-n", "300"], { cwd: repo })).stdout;
        return logs.includes('Liveness check "alive" failed 2 time(s) in a row: restarting');
      }),
      logs,
    ).toBe(true);
    expect(logs).toContain('Readiness check "ready" failing: out of the route');
  });
});
