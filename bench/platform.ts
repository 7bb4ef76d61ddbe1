import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fsp from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { connectDocker, ownedFilter } from "../src/docker/index.js";
import type { BenchContext } from "./scenarios.js";
import { type Child, type Cleanup, freePort, makeTempDir, type Reply, type Say, startChild } from "./util.js";

// A real `paas server` for the end-to-end scenarios (deploy, build-cache, zero-downtime),
// driven the way a user drives it: the CLI (dist/cli/main.js) with its own HOME, and
// `git push paas`. Each instance has its own namespace, data dir and loopback ports, and
// registers with ctx.cleanup: the server process, then (after it stopped) every container
// and image labelled paas.namespace=<ns>, the Redis keys <ns>:*, and its temp dirs.

/** The repository root (dist-bench/bench/platform.js -> ../..): fixtures live under test/fixtures/apps. */
export const REPO_ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
// The product's own build (npm run build), as users run it; the bench is compiled separately.
const CLI = path.join(REPO_ROOT, "dist/cli/main.js");

export function fixtureDir(name: string): string {
  return path.join(REPO_ROOT, "test/fixtures/apps", name);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command to completion, bounded by timeoutMs (SIGKILL after). Never throws. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(
      () => {
        stderr += `\n[bench] ${cmd} killed after ${opts.timeoutMs}ms`;
        child.kill("SIGKILL");
      },
      opts.timeoutMs ?? 10 * 60_000,
    );
    child.on("error", (err) => {
      stderr += String(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** One line of a push's output and when it reached the pushing git process (ms after the push began). */
export interface TimedLine {
  t: number;
  text: string;
}

export interface PushResult {
  code: number;
  /** Whole output (stdout + stderr), for error messages. */
  out: string;
  /** Every output line with its arrival time; "remote: " is stripped from remote lines. */
  lines: TimedLine[];
  /** performance.now() when git was spawned, and total ms until it exited. */
  startedAt: number;
  ms: number;
}

/** First line at or after `from` (ms) matching `re`. */
export function lineAt(lines: TimedLine[], re: RegExp, from = 0): TimedLine | undefined {
  return lines.find((l) => l.t >= from && re.test(l.text));
}

/** Remove every container and image of a namespace, and its Redis keys. */
export async function sweepNamespace(ns: string, redisUrl: string, say: Say): Promise<void> {
  const docker = connectDocker().raw;
  const filters = JSON.stringify(ownedFilter(ns));
  const containers = await docker.listContainers({ all: true, filters });
  for (const c of containers) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch((err: unknown) => say(`could not remove container ${c.Id.slice(0, 12)}: ${String(err)}`));
  }
  // Newest first (release images are children of their dependency layer); a second pass
  // for a parent and child created in the same second.
  let imageCount = 0;
  for (let pass = 0; pass < 2; pass++) {
    const images = (await docker.listImages({ filters })).sort((a, b) => b.Created - a.Created);
    if (pass === 0) imageCount = images.length;
    for (const img of images) {
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch((err: unknown) => {
          if (pass === 1) say(`could not remove image ${img.Id.slice(7, 19)}: ${String(err)}`);
        });
    }
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = "0";
    let removed = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${ns}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) removed += await redis.del(...keys);
    } while (cursor !== "0");
    say(`swept ${ns}: ${containers.length} container(s), ${imageCount} image(s), ${removed} Redis key(s)`);
  } finally {
    redis.disconnect();
  }
}

export interface PlatformOptions {
  domain?: string;
  /** Extra PAAS_* settings (e.g. PAAS_DRAIN_SECONDS); unset ones keep the platform's defaults. */
  env?: Record<string, string>;
}

export class BenchPlatform {
  readonly ns = `bench-${randomBytes(3).toString("hex")}`;
  readonly domain: string;
  dataDir = "";
  home = "";
  apiPort = 0;
  routerPort = 0;
  token = "";
  private server: Child | null = null;

  private constructor(
    private readonly ctx: BenchContext,
    private readonly opts: PlatformOptions,
  ) {
    this.domain = opts.domain ?? "bench.test";
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get cleanup(): Cleanup {
    return this.ctx.cleanup;
  }

  host(app: string): string {
    return `${app}.${this.domain}`;
  }

  /** Start `paas server`, log the CLI in. Everything it creates is registered for cleanup. */
  static async start(ctx: BenchContext, opts: PlatformOptions = {}): Promise<BenchPlatform> {
    const p = new BenchPlatform(ctx, opts);
    await p.boot();
    return p;
  }

  private async boot(): Promise<void> {
    const { cleanup, say } = this.ctx;
    // LIFO: the sweep is registered first so it runs after the server has stopped.
    cleanup.add(`sweep namespace ${this.ns}`, () => sweepNamespace(this.ns, this.ctx.options.redisUrl, say));
    this.dataDir = await makeTempDir("paas-bench-data-", cleanup);
    this.home = await makeTempDir("paas-bench-home-", cleanup);
    this.apiPort = await freePort();
    this.routerPort = await freePort();
    // The platform's own settings come from us only, never from the caller's shell.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PAAS_")));
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      PAAS_NAMESPACE: this.ns,
      PAAS_DATA_DIR: this.dataDir,
      PAAS_API_PORT: String(this.apiPort),
      PAAS_HTTP_PORT: String(this.routerPort),
      // A free port: the default (443/8443) may be taken, and the router benches are plain HTTP.
      PAAS_HTTPS_PORT: "0",
      PAAS_BIND: "127.0.0.1",
      PAAS_DOMAIN: this.domain,
      PAAS_REDIS_URL: this.ctx.options.redisUrl,
      ...this.opts.env,
    };
    const server = startChild(
      {
        name: `paas server (${this.ns})`,
        cmd: process.execPath,
        args: [CLI, "server"],
        env,
        stderrFile: path.join(this.dataDir, "server.err"),
      },
      cleanup,
    );
    // Stop it with a longer grace than startChild's default (it may be draining a deploy).
    cleanup.add("stop paas server", () => server.stop(20_000));
    this.server = server;
    await server.waitForLine(/paas is running/, 60_000);
    this.token = (await fsp.readFile(path.join(this.dataDir, "admin-token"), "utf8")).trim();
    await this.cliOk(["login", "--api", this.apiUrl, "--token", this.token]);
    say(
      `paas server up: ns ${this.ns}, api 127.0.0.1:${this.apiPort}, router 127.0.0.1:${this.routerPort}` +
        `${
          Object.keys(this.opts.env ?? {}).length > 0
            ? `, ${Object.entries(this.opts.env ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}`
            : ""
        }`,
    );
  }

  serverTail(): string {
    return this.server?.tail() ?? "";
  }

  /** Notes for a scenario's result: the server's warn/error log lines so far (first few). */
  async serverProblems(max = 5): Promise<string[]> {
    let text = "";
    try {
      text = await fsp.readFile(path.join(this.dataDir, "server.err"), "utf8");
    } catch {
      return [];
    }
    // pino JSON lines ({"level":"warn",...}), or the pretty form ("... warn paas:x ...").
    const bad = text.split("\n").filter((l) => /"level":"(warn|error)"| (warn|error) paas:/.test(l));
    if (bad.length === 0) return ["paas server logged no warn/error lines"];
    return [
      `paas server logged ${bad.length} warn/error line(s):`,
      ...bad.slice(0, max).map((l) => `  ${l.slice(0, 300)}`),
    ];
  }

  env(): NodeJS.ProcessEnv {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PAAS_")));
    return {
      ...inherited,
      HOME: this.home,
      GIT_AUTHOR_NAME: "Bench",
      GIT_AUTHOR_EMAIL: "bench@example.com",
      GIT_COMMITTER_NAME: "Bench",
      GIT_COMMITTER_EMAIL: "bench@example.com",
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_NOSYSTEM: "1",
    };
  }

  cli(args: string[], cwd?: string, timeoutMs = 10 * 60_000): Promise<RunResult> {
    return run(process.execPath, [CLI, ...args], { cwd: cwd ?? this.home, env: this.env(), timeoutMs });
  }

  /** The CLI, failing the scenario (with its output) on a non-zero exit. */
  async cliOk(args: string[], cwd?: string, timeoutMs?: number): Promise<RunResult> {
    const r = await this.cli(args, cwd, timeoutMs);
    if (r.code !== 0) {
      throw new Error(`paas ${args.join(" ")} exited with ${r.code}:\n${(r.stderr || r.stdout).trim()}`);
    }
    return r;
  }

  async git(args: string[], cwd: string): Promise<RunResult> {
    const r = await run("git", args, { cwd, env: this.env(), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} exited with ${r.code}:\n${r.stderr.trim()}`);
    return r;
  }

  /** A temp git repo (cleaned up) with `fill` written into it and one commit. */
  async repo(name: string, fill: (dir: string) => Promise<void>): Promise<string> {
    const dir = await makeTempDir(`paas-bench-${name}-`, this.ctx.cleanup);
    await fill(dir);
    await this.git(["init", "-q", "-b", "main"], dir);
    await this.git(["add", "-A"], dir);
    await this.git(["commit", "-q", "-m", "initial"], dir);
    return dir;
  }

  /** Copy a fixture app into a fresh repo; `mutate` may change the copy first. */
  fixtureRepo(fixture: string, mutate?: (dir: string) => Promise<void>): Promise<string> {
    return this.repo(fixture, async (dir) => {
      await fsp.cp(fixtureDir(fixture), dir, { recursive: true });
      if (mutate) await mutate(dir);
    });
  }

  async commit(repo: string, files: Record<string, string>, message: string): Promise<void> {
    for (const [file, text] of Object.entries(files)) {
      await fsp.mkdir(path.dirname(path.join(repo, file)), { recursive: true });
      await fsp.writeFile(path.join(repo, file), text);
    }
    await this.git(["add", "-A"], repo);
    await this.git(["commit", "-q", "-m", message], repo);
  }

  async createApp(repo: string, app: string): Promise<void> {
    await this.cliOk(["apps:create", app], repo);
  }

  /**
   * `git push paas HEAD:main`, recording when each output line (the streamed "remote:"
   * build and release log) reaches the pushing git process. Bounded by timeoutMs.
   */
  push(repo: string, timeoutMs = 15 * 60_000): Promise<PushResult> {
    const startedAt = performance.now();
    return new Promise((resolve) => {
      const child = spawn("git", ["push", "-f", "paas", "HEAD:main"], {
        cwd: repo,
        env: this.env(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      const lines: TimedLine[] = [];
      let out = "";
      const reader = () => {
        let buf = "";
        return (chunk: string) => {
          const t = performance.now() - startedAt;
          out += chunk;
          buf += chunk;
          // git rewrites progress lines with \r; both end a line for us.
          const parts = buf.split(/\r\n|\r|\n/);
          buf = parts.pop() ?? "";
          for (const raw of parts) {
            const text = raw.replace(/^remote: ?/, "").replace(/\s+$/, "");
            if (text) lines.push({ t, text });
          }
        };
      };
      child.stdout.setEncoding("utf8").on("data", reader());
      child.stderr.setEncoding("utf8").on("data", reader());
      const timer = setTimeout(() => {
        out += `\n[bench] git push killed after ${timeoutMs}ms`;
        child.kill("SIGKILL");
      }, timeoutMs);
      child.on("error", (err) => {
        out += String(err);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, out, lines, startedAt, ms: performance.now() - startedAt });
      });
    });
  }

  /** A push that must succeed. */
  async pushOk(repo: string): Promise<PushResult> {
    const r = await this.push(repo);
    if (r.code !== 0)
      throw new Error(`git push exited with ${r.code}:\n${r.out.split("\n").slice(-40).join("\n")}`);
    return r;
  }

  /** One GET through the router (loopback, Host <app>.<domain>), new connection, bounded. */
  get(app: string, urlPath = "/", timeoutMs = 5_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        {
          host: "127.0.0.1",
          port: this.routerPort,
          path: urlPath,
          headers: { host: this.host(app) },
          agent: false,
          timeout: timeoutMs,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs}ms`)));
      req.on("error", reject);
    });
  }

  /** Containers of this namespace (optionally one app), as Docker lists them. */
  async containers(app?: string) {
    return connectDocker().raw.listContainers({
      all: true,
      filters: JSON.stringify(ownedFilter(this.ns, app)),
    });
  }

  /** Images of this namespace (optionally one app). */
  async images(app?: string) {
    return connectDocker().raw.listImages({ filters: JSON.stringify(ownedFilter(this.ns, app)) });
  }
}

/** Size in bytes of a local image, or null when it is missing. */
export async function imageSize(ref: string): Promise<number | null> {
  try {
    const info = await connectDocker().raw.getImage(ref).inspect();
    return info.Size;
  } catch {
    return null;
  }
}

/** Why the end-to-end scenarios cannot run here (null when they can): git, Docker, Redis, the built CLI, images. */
export async function platformUnavailable(redisUrl: string, images: string[] = []): Promise<string | null> {
  if ((await run("git", ["--version"], { timeoutMs: 10_000 })).code !== 0) return "git is not installed";
  try {
    await fsp.access(CLI);
  } catch {
    return `${CLI} is missing: npm run build first`;
  }
  try {
    await connectDocker().raw.ping();
  } catch (err) {
    return `Docker is not reachable: ${String(err)}`;
  }
  for (const ref of images) {
    if ((await imageSize(ref)) === null) return `image ${ref} is missing: npm run setup builds it`;
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 3_000 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    return `Redis at ${redisUrl} is not reachable: ${String(err)}`;
  } finally {
    redis.disconnect();
  }
  return null;
}
