import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, dockerImages, Platform, ROOT } from "../helpers/platform.js";

// Issue 3 end to end: source without a Dockerfile, pushed with git, built by buildpacks on
// the stack images, served through the router.

const run = promisify(execFile);

/** Lines the nodejs buildpack's bin/compile prints under "Restoring cache". */
const NODE_CACHE_HIT = "node_modules restored from cache (package-lock.json unchanged): skipping install";
const NODE_CACHE_COLD = "no cached node_modules (first build)";

/** A GET through the router that keeps the raw bytes (for gzip). */
function rawGet(
  port: number,
  host: string,
  urlPath: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: urlPath, method: "GET", headers: { host, ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
        );
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

describe("git push of buildpack apps", () => {
  const p = new Platform();
  const temps: string[] = [];
  let buildStackBytes = 0;

  beforeAll(async () => {
    await p.start();
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const t of temps) await fsp.rm(t, { recursive: true, force: true });
  });

  async function create(fixture: string) {
    const repo = await p.fixtureRepo(fixture);
    temps.push(repo);
    const app = `${fixture.replace(/^bp-/, "").slice(0, 12)}-${Date.now().toString(36)}`.replace(/--+/g, "-");
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    return { app, repo };
  }

  async function push(repo: string) {
    const res = await p.git(["push", "-f", "paas", "HEAD:main"], repo);
    return { code: res.code, out: res.stdout + res.stderr };
  }

  async function deploy(fixture: string) {
    const { app, repo } = await create(fixture);
    return { app, repo, ...(await push(repo)) };
  }

  /** Replace the repo's tree with another fixture's files and commit. */
  async function replaceWith(repo: string, fixture: string, message: string) {
    await p.git(["rm", "-rq", "."], repo);
    await fsp.cp(path.join(ROOT, "test/fixtures/apps", fixture), repo, { recursive: true });
    await p.git(["add", "-A"], repo);
    expect((await p.git(["commit", "-qm", message], repo)).code).toBe(0);
  }

  async function commitChange(repo: string, file: string, text: string, message: string) {
    await fsp.writeFile(path.join(repo, file), text);
    await p.git(["add", "-A"], repo);
    expect((await p.git(["commit", "-qm", message], repo)).code).toBe(0);
  }

  const ps = async (repo: string) => {
    const res = await p.cli(["ps", "--json"], { cwd: repo });
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as { name: string; state: string }[];
  };

  /** Poll (bounded) until fn returns true. */
  const eventually = async (fn: () => Promise<boolean>, attempts = 30, ms = 1000) => {
    for (let i = 0; i < attempts; i++) {
      if (await fn()) return true;
      await new Promise((r) => setTimeout(r, ms));
    }
    return false;
  };

  it("paas stack lists the stack images with node, python and go versions", async () => {
    const res = await p.cli(["stack", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const stack = JSON.parse(res.stdout);
    expect(stack.build.image).toMatch(/^paas\/stack-build:/);
    expect(stack.run.image).toMatch(/^paas\/stack-run:/);
    expect(stack.build.present).toBe(true);
    expect(stack.run.present).toBe(true);
    expect(stack.build.installed.node).toMatch(/^\d+\.\d+\.\d+/);
    expect(stack.build.installed.python).toMatch(/^3\.\d+/);
    expect(stack.build.installed.go).toMatch(/\d+\.\d+/);
    expect(stack.run.installed.node).toBe(stack.build.installed.node);
    expect(stack.run.installed.python).toBe(stack.build.installed.python);
    buildStackBytes = stack.build.sizeBytes;
    expect(buildStackBytes).toBeGreaterThan(0);
  });

  describe("a Node app with express", () => {
    let app = "";
    let repo = "";

    it("builds with npm ci, runs the build script, prunes devDependencies and starts with npm start", async () => {
      const d = await deploy("bp-node-express");
      app = d.app;
      repo = d.repo;
      expect(d.code, d.out).toBe(0);
      expect(d.out).toContain("remote: -----> Node.js app detected");
      expect(d.out).toContain(NODE_CACHE_COLD);
      expect(d.out).toContain("$ npm ci");
      expect(d.out).toContain("build.js wrote build-info.txt");
      expect(d.out).toMatch(/Procfile declares types\s+-> \(none\)/);
      expect(d.out).toMatch(/Default types for buildpack -> web/);
      const res = await p.get(app);
      expect(res.status, res.body).toBe(200);
      expect(res.body).toMatch(/^hello from express on node v\d+/);
      const info = await p.get(app, "/build-info");
      expect(info.body).toContain("built at compile time; is-number(42)=true");
      const dev = await p.get(app, "/dev-deps");
      expect(JSON.parse(dev.body)).toEqual({ devDependenciesPresent: false });
      const procs = await ps(repo);
      expect(procs.map((x) => `${x.name}:${x.state}`)).toEqual(["web.1:up"]);
      // The slug image records its process types and stays well under the build stack.
      const images = await dockerImages(p.ns, app);
      const image = images.find((i) => i.Labels["paas.process-types"]);
      expect(image, JSON.stringify(images.map((i) => i.Labels))).toBeDefined();
      expect(JSON.parse(image?.Labels["paas.process-types"] ?? "{}")).toEqual({ web: "npm start" });
      expect(image?.Labels["paas.buildpacks"]).toBe("Node.js");
      expect(image?.Size).toBeLessThan(buildStackBytes / 2);
      console.log(
        `nodejs fixture image: ${((image?.Size ?? 0) / 1e6).toFixed(1)} MB; build stack: ${(buildStackBytes / 1e6).toFixed(1)} MB`,
      );
    });

    it("a warm rebuild restores node_modules from the cache instead of installing", async () => {
      await commitChange(repo, "CHANGELOG.md", "a trivial change\n", "trivial change");
      const d = await push(repo);
      expect(d.code, d.out).toBe(0);
      expect(d.out).toContain(NODE_CACHE_HIT);
      expect(d.out).not.toContain(NODE_CACHE_COLD);
      expect(d.out).not.toContain("$ npm ci");
      // The image reuses the dependency layer instead of copying node_modules again.
      expect(d.out).toContain("dependency layer unchanged: reused");
      const res = await p.get(app);
      expect(res.status).toBe(200);
      expect(res.body).toContain("hello from express");
    });

    it("after repo:purge-cache the next build is cold again", async () => {
      const purge = await p.cli(["repo:purge-cache"], { cwd: repo });
      expect(purge.code, purge.stderr).toBe(0);
      await commitChange(repo, "CHANGELOG.md", "another trivial change\n", "another change");
      const d = await push(repo);
      expect(d.code, d.out).toBe(0);
      expect(d.out).toContain(NODE_CACHE_COLD);
      expect(d.out).not.toContain(NODE_CACHE_HIT);
      expect(d.out).toContain("$ npm ci");
      expect((await p.get(app)).status).toBe(200);
    });

    it("a failing compile rejects the push and the old release keeps serving", async () => {
      const before = await p.get(app);
      expect(before.status).toBe(200);
      await replaceWith(repo, "bp-compile-fails", "a build script that fails");
      const d = await push(repo);
      expect(d.code, d.out).not.toBe(0);
      expect(d.out).toContain("[remote rejected]");
      expect(d.out).toContain("boom: the build script failed on purpose");
      expect(d.out).toMatch(/Build failed: Node\.js bin\/compile exited with \d+/);
      const after = await p.get(app);
      expect(after.status).toBe(200);
      expect(after.body).toBe(before.body);
      expect(after.body).not.toContain("should never run");
      const procs = await ps(repo);
      expect(procs.map((x) => `${x.name}:${x.state}`)).toEqual(["web.1:up"]);
    });

    it("apps:destroy removes its images, the dependency layer included", async () => {
      const kinds = (await dockerImages(p.ns, app)).map((i) => i.Labels["paas.kind"]);
      expect(kinds).toContain("deps");
      const res = await p.cli(["apps:destroy", app, "--confirm", app]);
      expect(res.code, res.stderr).toBe(0);
      expect(await dockerImages(p.ns, app)).toEqual([]);
    });
  });

  it("builds a Node app without dependencies and starts it from its Procfile", async () => {
    const d = await deploy("bp-node-procfile");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("Node.js app detected");
    expect(d.out).toContain("Procfile declares types     -> web");
    const res = await p.get(d.app);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toBe("hello from the Procfile web process (NODE_ENV=production)\n");
  });

  it("serves a static site with gzip, caching headers and a proper 404", async () => {
    const d = await deploy("bp-static-site");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("Static HTML app detected");
    const host = `${d.app}.paas.test`;

    const index = await p.get(d.app);
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.body).toContain("<h1>hello from a static site</h1>");
    expect(index.headers.etag).toBeTruthy();
    expect(index.headers["last-modified"]).toBeTruthy();
    expect(index.headers["cache-control"]).toBe("no-cache");

    const revalidated = await p.get(d.app, "/", { "if-none-match": String(index.headers.etag) });
    expect(revalidated.status).toBe(304);

    const css = await p.get(d.app, "/assets/site.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.headers["cache-control"]).toMatch(/^public, max-age=\d+/);

    const gz = await rawGet(p.routerPort, host, "/", { "accept-encoding": "gzip" });
    expect(gz.status).toBe(200);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.headers.vary).toMatch(/accept-encoding/i);
    const unzipped = zlib.gunzipSync(gz.body).toString("utf8");
    expect(unzipped).toBe(index.body);
    expect(gz.body.length).toBeLessThan(Buffer.byteLength(index.body));

    const plain = await rawGet(p.routerPort, host, "/", {});
    expect(plain.headers["content-encoding"]).toBeUndefined();

    const missing = await p.get(d.app, "/no/such/page.html");
    expect(missing.status).toBe(404);
    expect(missing.headers["content-type"]).toMatch(/^text\/html/);
    expect(missing.body).toContain("custom 404: nothing here");
    const dotfile = await p.get(d.app, "/.profile.d/static.sh");
    expect(dotfile.status).toBe(404);
  });

  it("builds a Python app into a venv from a vendored wheel, with no package index", async () => {
    const d = await deploy("bp-python-nodeps");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("Python app detected");
    expect(d.out).toContain("Installing requirements with pip");
    const res = await p.get(d.app);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toMatch(
      /^hello from a vendored wheel on python 3\.\d+\.\d+ in \/app\/\.heroku\/python\n$/,
    );
  });

  it("builds a Go app that uses only the standard library", async () => {
    const d = await deploy("bp-go-stdlib");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("Go app detected");
    expect(d.out).toContain("no requirements in go.mod: standard library only");
    expect(d.out).toMatch(/Installed: hello\b/);
    const res = await p.get(d.app);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toMatch(/^hello from go go\d+\.\d+/);
  });

  it("runs a Procfile app's web and worker; the worker logs and is not routed", async () => {
    const d = await deploy("bp-procfile-web-worker");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("Procfile app detected");
    expect(d.out).toMatch(/Procfile declares types\s+-> web, worker/);
    // Heroku's default formation: web=1, the worker waits for ps:scale.
    expect(d.out).toContain("Formation: web=1 worker=0");
    const scale = await p.cli(["ps:scale", "worker=1"], { cwd: d.repo });
    expect(scale.code, scale.stderr).toBe(0);

    expect(
      await eventually(async () => {
        const procs = await ps(d.repo);
        return procs.some((x) => x.name === "worker.1" && x.state === "up");
      }),
    ).toBe(true);
    const procs = await ps(d.repo);
    expect(procs.map((x) => `${x.name}:${x.state}`).sort()).toEqual(["web.1:up", "worker.1:up"]);

    for (let i = 0; i < 4; i++) {
      const res = await p.get(d.app);
      expect(res.status).toBe(200);
      expect(res.body).toBe("hello from the Procfile web process\n");
    }

    const containers = await dockerContainers(p.ns, d.app);
    const worker = containers.find((c) => c.Labels["paas.process"] === "worker");
    const web = containers.find((c) => c.Labels["paas.process"] === "web");
    expect(web).toBeDefined();
    expect(worker).toBeDefined();
    expect(worker?.Ports.filter((port) => port.PublicPort)).toEqual([]);

    let logs = "";
    expect(
      await eventually(async () => {
        logs = (await p.cli(["logs", "-n", "200"], { cwd: d.repo })).stdout;
        return /app\[worker\.1\]: worker tick \d+/.test(logs);
      }),
      logs,
    ).toBe(true);
  });

  it("builds a multi-buildpack app from .buildpacks: nodejs builds an asset, python serves it", async () => {
    const d = await deploy("bp-multi-buildpack");
    expect(d.code, d.out).toBe(0);
    expect(d.out).toContain("Buildpacks from .buildpacks: nodejs, python");
    expect(d.out).toContain("Buildpack 1/2: Node.js");
    expect(d.out).toContain("Buildpack 2/2: Python");
    const res = await p.get(d.app);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toMatch(/^python serves: generated by node v\d+\.\d+\.\d+ at build time\n$/);
  });

  describe("a repo nothing detects, then a custom buildpack from a local git URL", () => {
    let app = "";
    let repo = "";

    it("rejects the push and lists what each bundled buildpack looks for", async () => {
      const d = await deploy("bp-nothing-detected");
      app = d.app;
      repo = d.repo;
      expect(d.code, d.out).not.toBe(0);
      expect(d.out).toContain("[remote rejected]");
      expect(d.out).toContain("No buildpack detected this app");
      for (const [name, looksFor] of [
        ["nodejs", "package.json"],
        ["python", "requirements.txt"],
        ["go", "go.mod"],
        ["static", "index.html or a public/ folder"],
        ["procfile", "a Procfile"],
      ]) {
        expect(d.out).toMatch(new RegExp(`${name}\\s+${looksFor.replace(/[.()/]/g, "\\$&")}`));
      }
      expect((await p.get(app)).status).toBe(503);
    });

    it("buildpacks:set refuses a name that is neither bundled nor a git URL", async () => {
      const res = await p.cli(["buildpacks:set", "nonsense"], { cwd: repo });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('unknown buildpack "nonsense"');
      expect(res.stderr).toContain("nodejs, python, go, static, procfile");
      const state = JSON.parse((await p.cli(["buildpacks", "--json"], { cwd: repo })).stdout);
      expect(state.buildpacks).toEqual([]);
    });

    it("builds with a custom buildpack cloned from a file:// git repository", async () => {
      const bpDir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-custom-bp-"));
      temps.push(bpDir);
      // mkdtemp makes a 0700 directory: the platform clones the repository for the build
      // user (uid 1000), so its modes do not matter.
      await fsp.cp(path.join(ROOT, "test/fixtures/buildpacks/custom"), bpDir, { recursive: true });
      await run("git", ["init", "-q", "-b", "main"], { cwd: bpDir });
      await run("git", ["add", "-A"], { cwd: bpDir });
      await run("git", ["commit", "-q", "-m", "custom buildpack"], { cwd: bpDir, env: p.env() });
      const url = `file://${bpDir}#main`;

      const set = await p.cli(["buildpacks:set", url], { cwd: repo });
      expect(set.code, set.stderr).toBe(0);
      const state = JSON.parse((await p.cli(["buildpacks", "--json"], { cwd: repo })).stdout);
      expect(state.buildpacks).toEqual([url]);
      // Config vars reach bin/compile through ENV_DIR.
      expect((await p.cli(["config:set", "GREETING=hello-env-dir"], { cwd: repo })).code).toBe(0);

      await commitChange(repo, "notes.txt", "retry with a custom buildpack\n", "retry");
      const d = await push(repo);
      expect(d.code, d.out).toBe(0);
      expect(d.out).toContain(`Buildpacks from app setting: file://${bpDir}#main`);
      expect(d.out).toContain(`Fetching buildpack file://${bpDir} (ref main)`);
      expect(d.out).toContain("Custom app detected");
      expect(d.out).toContain("Custom buildpack compiling");
      expect(d.out).toContain("cache says this is compile number 1");
      const res = await p.get(app);
      expect(res.status, res.body).toBe(200);
      expect(res.body).toBe("hello-env-dir\nhello from a custom buildpack\n");
    });
  });
});
