import fsp from "node:fs/promises";
import path from "node:path";
import Docker from "dockerode";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dockerContainers,
  dockerImages,
  exists,
  httpGet,
  Platform,
  REDIS_URL,
  ROOT,
  sh,
} from "../helpers/platform.js";

// Dokku's apps:rename and git:from-image (here `paas deploy:image`), end to end: a real
// server, real dockerd and Redis, the compiled CLI, git pushes and requests through the router.

async function eventually(check: () => Promise<boolean>, tries = 60, everyMs = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

describe("apps:rename and deploy:image", () => {
  const p = new Platform();
  const suffix = Date.now().toString(36);
  const repos: string[] = [];

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const r of repos) await fsp.rm(r, { recursive: true, force: true });
  });

  /** An image built outside the platform, labelled with the test's namespace so the sweep removes it. */
  async function buildImage(tag: string, extraArgs: string[] = []) {
    const r = await sh("docker", [
      "build",
      "-q",
      "-t",
      tag,
      "--label",
      "paas.managed=true",
      "--label",
      `paas.namespace=${p.ns}`,
      ...extraArgs,
      path.join(ROOT, "test/fixtures/apps/image-hello"),
    ]);
    expect(r.code, r.stderr).toBe(0);
  }

  describe("deploy:image", () => {
    const app = `img-${suffix}`;
    const image = `${p.ns}-prebuilt:1`;

    beforeAll(async () => {
      const created = await p.cli(["apps:create", app]);
      expect(created.code, created.stderr).toBe(0);
      await buildImage(image);
    });

    it("refuses an image the engine does not have, saying how to list and load images", async () => {
      const r = await p.cli(["deploy:image", `${p.ns}-missing:1`, "-a", app]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`image "${p.ns}-missing:1" is not in the platform's Docker engine`);
      expect(r.stderr).toContain("docker images");
      expect(r.stderr).toContain("docker load");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const bad = await p.cli(["deploy:image", "not an image!", "-a", app]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("is not an image reference");
    });

    it("releases the image like a push: streamed output, labelled release image, port from EXPOSE, URL", async () => {
      const r = await p.cli(["deploy:image", image, "-a", app]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain(`-----> Deploying image ${image} to ${app}`);
      expect(r.stdout).toContain("Process types: web (the image's CMD); port 8000");
      expect(r.stdout).toMatch(/Released v\d+/);
      expect(r.stdout).toContain(`http://${app}.paas.test:${p.routerPort} deployed to paas`);
      const res = await p.get(app);
      expect(res.status).toBe(200);
      expect(res.body).toBe("hello from a prebuilt image\n");

      // The release image carries the platform's labels: GC and apps:destroy find it.
      const tags = (await dockerImages(p.ns, app)).flatMap((i) => i.RepoTags ?? []);
      expect(tags).toContain(`${p.ns}/${app}:v1`);
      const releases = await p.cli(["releases", "-a", app]);
      expect(releases.stdout).toContain(`Deploy image ${image}`);
    });

    it("takes process types from a paas.procfile label", async () => {
      const withProcfile = `${p.ns}-procfile:1`;
      await buildImage(withProcfile, [
        "--label",
        "paas.procfile=web: exec httpd -f -p $PORT -h /www\nworker: while true; do echo tick; sleep 5; done",
      ]);
      const r = await p.cli(["deploy:image", withProcfile, "-a", app]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain("Process types: web (exec httpd -f -p $PORT -h /www), worker (");
      expect((await p.get(app)).status).toBe(200);
      const info = await p.cli(["releases:info", "v2", "-a", app]);
      expect(info.stdout).toContain("worker");
    });
  });

  describe("apps:rename", () => {
    const from = `rn-${suffix}`;
    const to = `renamed-${suffix}`;
    let repo = "";

    beforeAll(async () => {
      repo = await p.fixtureRepo("dockerfile-hello");
      repos.push(repo);
      const created = await p.cli(["apps:create", from], { cwd: repo });
      expect(created.code, created.stderr).toBe(0);
      const push = await p.git(["push", "paas", "main"], repo);
      expect(push.code, push.stderr).toBe(0);
      const set = await p.cli(["config:set", "GREETING=kept", "-a", from]);
      expect(set.code, set.stderr).toBe(0);
      const domain = await p.cli(["domains:add", `www.${from}.example`, "-a", from]);
      expect(domain.code, domain.stderr).toBe(0);
      expect((await p.get(from)).status).toBe(200);
    });

    it("refuses a new name that exists or is invalid", async () => {
      const other = `other-${suffix}`;
      expect((await p.cli(["apps:create", other])).code).toBe(0);
      const taken = await p.cli(["apps:rename", from, other]);
      expect(taken.code).not.toBe(0);
      expect(taken.stderr).toContain(`app "${other}" already exists`);
      const invalid = await p.cli(["apps:rename", from, "Not_Valid"]);
      expect(invalid.code).not.toBe(0);
      expect(invalid.stderr).toMatch(/^error: .*Not_Valid/m);
      const missing = await p.cli(["apps:rename", `nope-${suffix}`, `nope2-${suffix}`]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("not found");
    });

    it("moves config, releases, domains, repo and running processes to the new name", async () => {
      const r = await p.cli(["apps:rename", from, to], { cwd: repo });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Renaming ${from} to ${to}... done`);
      expect(r.stdout).toContain("Git remote paas updated");
      expect((await p.git(["remote", "get-url", "paas"], repo)).stdout.trim()).toBe(
        `${p.apiUrl}/git/${to}.git`,
      );

      const res = await p.get(to);
      expect(res.status).toBe(200);
      expect(res.body).toContain("hello");
      expect(await eventually(async () => (await p.get(from)).status === 404)).toBe(true);
      const custom = await httpGet(p.routerPort, `www.${from}.example`);
      expect(custom.status).toBe(200);

      expect((await p.cli(["config:get", "GREETING", "-a", to])).stdout.trim()).toBe("kept");
      const releases = await p.cli(["releases", "-a", to]);
      expect(releases.stdout).toContain("Set GREETING config var");
      expect(releases.stdout).toContain("Deploy ");
      expect((await p.cli(["apps:info", "-a", from])).code).not.toBe(0);
      expect((await p.cli(["apps"])).stdout).not.toContain(from);

      // Containers are replaced under the new name; images are tagged and labelled with it.
      expect(await dockerContainers(p.ns, from)).toEqual([]);
      const running = (await dockerContainers(p.ns, to, "app")).filter((c) => c.State === "running");
      expect(running.length).toBeGreaterThan(0);
      const tags = (await dockerImages(p.ns, to)).flatMap((i) => i.RepoTags ?? []);
      expect(tags.some((t) => t.startsWith(`${p.ns}/${to}:v`))).toBe(true);
      const stale = (await dockerImages(p.ns, from)).flatMap((i) => i.RepoTags ?? []);
      expect(stale).toEqual([]);
      expect(exists(path.join(p.dataDir, "repos", `${to}.git`))).toBe(true);
      expect(exists(path.join(p.dataDir, "repos", `${from}.git`))).toBe(false);
    });

    it("takes pushes under the new name from the updated remote", async () => {
      await p.git(["commit", "-q", "--allow-empty", "-m", "after the rename"], repo);
      const push = await p.git(["push", "paas", "main"], repo);
      expect(push.code, push.stderr).toBe(0);
      expect(push.stdout + push.stderr).toContain(`${to}.paas.test`);
      expect((await p.get(to)).status).toBe(200);
      const releases = await p.cli(["releases", "-a", to, "--json"]);
      const versions = (JSON.parse(releases.stdout) as { version: string }[]).map((x) => x.version);
      expect(versions[0]).toBe("v3");
    });

    it("takes Heroku's form too: apps:rename NEW for the app of the repo's remote", async () => {
      const third = `third-${suffix}`;
      const r = await p.cli(["apps:rename", third], { cwd: repo });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Renaming ${to} to ${third}... done`);
      expect((await p.git(["remote", "get-url", "paas"], repo)).stdout.trim()).toBe(
        `${p.apiUrl}/git/${third}.git`,
      );
      expect((await p.get(third)).status).toBe(200);
    });

    it("leaves no network or Redis key of an old name behind, after the renames and a destroy", async () => {
      const third = `third-${suffix}`;
      const names = [from, to, third];
      const networks = async () =>
        (
          await new Docker().listNetworks({
            filters: JSON.stringify({ label: ["paas.managed=true", `paas.namespace=${p.ns}`] }),
          })
        ).map((n) => n.Name);
      const keys = async () => {
        const redis = new Redis(REDIS_URL);
        const found: string[] = [];
        let cursor = "0";
        do {
          const [next, batch] = await redis.scan(cursor, "MATCH", `${p.ns}:*`, "COUNT", 500);
          cursor = next;
          found.push(...batch);
        } while (cursor !== "0");
        redis.disconnect();
        return found;
      };
      const of = (list: string[], app: string) =>
        list.filter((k) => k.endsWith(`:${app}`) || k.endsWith(`.${app}`) || k.includes(`:${app}:`));

      // After the renames: only the current name has a network and keys.
      expect(await networks()).toContain(`${p.ns}.app.${third}`);
      for (const old of [from, to]) {
        expect(of(await networks(), old)).toEqual([]);
        expect(of(await keys(), old)).toEqual([]);
      }
      expect(of(await keys(), third)).toContain(`${p.ns}:builds:${third}`);

      // An app renamed before its first push: the rename is its first job (its build order starts there).
      const fresh = `fresh-${suffix}`;
      const fresher = `fresher-${suffix}`;
      expect((await p.cli(["apps:create", fresh])).code).toBe(0);
      const moved = await p.cli(["apps:rename", fresh, fresher]);
      expect(moved.code, moved.stderr).toBe(0);
      expect(of(await keys(), fresh)).toEqual([]);
      expect(of(await keys(), fresher)).toContain(`${p.ns}:build-turn:${fresher}`);

      const gone = await p.cli(["apps:destroy", third, "--confirm", third]);
      expect(gone.code, gone.stderr).toBe(0);
      expect(await eventually(async () => of(await networks(), third).length === 0)).toBe(true);
      for (const name of names) {
        expect(of(await networks(), name)).toEqual([]);
        // The build order (build-seq, build-turn) stays by design (store/builds.ts removeApp).
        expect(of(await keys(), name).filter((k) => !/:build-(seq|turn):/.test(k))).toEqual([]);
      }
    });
  });
});
