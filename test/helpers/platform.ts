import { type ChildProcess, execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { Redis } from "ioredis";

const run = promisify(execFile);
export const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "dist/cli/main.js");
export const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** Run a command; never throws, returns exit code and output. */
export function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function httpGet(
  port: number,
  host: string,
  urlPath = "/",
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: urlPath, method: "GET", headers: { host, ...headers }, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** A real `paas server` in a child process with its own namespace, data dir and ports. */
export class Platform {
  readonly ns = `t${crypto.randomBytes(4).toString("hex")}`;
  dataDir = "";
  home = "";
  apiPort = 0;
  routerPort = 0;
  httpsPort = 0;
  token = "";
  output = "";
  private child: ChildProcess | null = null;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HOME: this.home,
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
      GIT_TERMINAL_PROMPT: "0",
      PAAS_API_URL: "",
      PAAS_API_TOKEN: "",
      ...extra,
    };
  }

  async start(extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    this.dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-data-"));
    this.home = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-home-"));
    this.apiPort = await freePort();
    this.routerPort = await freePort();
    this.httpsPort = await freePort();
    const env = {
      ...process.env,
      PAAS_NAMESPACE: this.ns,
      PAAS_DATA_DIR: this.dataDir,
      PAAS_API_PORT: String(this.apiPort),
      PAAS_HTTP_PORT: String(this.routerPort),
      PAAS_HTTPS_PORT: String(this.httpsPort),
      PAAS_BIND: "127.0.0.1",
      PAAS_DOMAIN: "paas.test",
      PAAS_REDIS_URL: REDIS_URL,
      PAAS_START_TIMEOUT: "30",
      PAAS_DRAIN_SECONDS: "1",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      // Image scans (plugins/scan) cost seconds of CPU per release: on only where a test asks.
      PAAS_SCAN_POLICY: "off",
      // SSH off unless a test asks for a port: the default 2222 is the real platform's.
      PAAS_SSH_PORT: "off",
      ...extraEnv,
    };
    this.serverEnv = env;
    await this.spawnServer();
    this.token = (await fsp.readFile(path.join(this.dataDir, "admin-token"), "utf8")).trim();
  }

  private serverEnv: NodeJS.ProcessEnv = {};

  private async spawnServer(): Promise<void> {
    const child = spawn(process.execPath, [CLI, "server"], {
      env: this.serverEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const from = this.output.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.output}`)), 30_000);
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (this.output.slice(from).includes("paas is running")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${this.output}`));
      });
    });
  }

  /** Stop the server (SIGTERM) and start it again on the same namespace, data dir and ports. */
  async restart(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.removeAllListeners("exit");
        child.on("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
    await this.spawnServer();
  }

  /** Run the real CLI (dist/cli/main.js) as the user would. */
  cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
    return sh(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? this.home, env: this.env(opts.env) });
  }

  git(args: string[], cwd: string): Promise<Result> {
    return sh("git", args, { cwd, env: this.env() });
  }

  /** Copy a fixture app into a fresh git repo with one commit. */
  async fixtureRepo(name: string, mutate?: (dir: string) => Promise<void>): Promise<string> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `paas-app-${name}-`));
    await fsp.cp(path.join(ROOT, "test/fixtures/apps", name), dir, { recursive: true });
    if (mutate) await mutate(dir);
    await run("git", ["init", "-q", "-b", "main"], { cwd: dir });
    await run("git", ["add", "-A"], { cwd: dir });
    await run("git", ["commit", "-q", "-m", "initial"], { cwd: dir, env: this.env() });
    return dir;
  }

  get(app: string, urlPath = "/", headers: Record<string, string> = {}): Promise<HttpResult> {
    return httpGet(this.routerPort, `${app}.paas.test`, urlPath, headers);
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    this.child = null;
    let code: number | null = null;
    if (child && child.exitCode === null) {
      code = await new Promise<number | null>((resolve) => {
        const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.on("exit", (c) => {
          clearTimeout(t);
          resolve(c);
        });
        child.kill("SIGTERM");
      });
    }
    await sweep(this.ns);
    await fsp.rm(this.dataDir, { recursive: true, force: true }).catch(() => {});
    await fsp.rm(this.home, { recursive: true, force: true }).catch(() => {});
    return code;
  }
}

/** Remove every container, image, volume, network and Redis key of a test namespace. */
export async function sweep(ns: string): Promise<void> {
  const docker = new Docker();
  const filters = JSON.stringify({ label: ["paas.managed=true", `paas.namespace=${ns}`] });
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  // Newest first (release images are children of their dependency layer); a second pass
  // for a parent and child created in the same second.
  for (let pass = 0; pass < 2; pass++) {
    for (const img of (await docker.listImages({ filters })).sort((a, b) => b.Created - a.Created)) {
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => {});
    }
  }
  // Add-on and storage volumes, add-on and app networks (after their containers).
  for (const v of ((await docker.listVolumes({ filters })) as { Volumes: { Name: string }[] | null })
    .Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  }
  const redis = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${ns}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
}

/** Every container of the app (kind: "app" for its process containers only, not build or one-off ones). */
export async function dockerContainers(ns: string, app: string, kind?: "app") {
  const docker = new Docker();
  const label = [`paas.namespace=${ns}`, `paas.app=${app}`];
  if (kind) label.push(`paas.kind=${kind}`);
  return docker.listContainers({ all: true, filters: JSON.stringify({ label }) });
}

export async function dockerImages(ns: string, app: string) {
  const docker = new Docker();
  return docker.listImages({
    filters: JSON.stringify({ label: [`paas.namespace=${ns}`, `paas.app=${app}`] }),
  });
}

export const exists = (p: string) => fs.existsSync(p);
