import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { buildpacksBuilder } from "../../../src/builder/buildpacks/index.js";
import type { BuildResult } from "../../../src/builder/types.js";
import { loadSettings, type Settings } from "../../../src/config.js";
import { connectDocker, LABEL, ownedFilter, ownedLabels } from "../../../src/docker/index.js";
import type { AppName } from "../../../src/names.js";

// Drives the buildpacks builder directly against the real Docker engine: a fixture copied
// into a temp source dir, a build, then the image run with its port on 127.0.0.1.

export const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures");
export const NS = `test-bp-${randomBytes(3).toString("hex")}`;
export const docker = connectDocker();
export const root = fs.mkdtempSync(path.join(os.tmpdir(), `${NS}-`));

export const settings: Settings = loadSettings({
  PAAS_NAMESPACE: NS,
  PAAS_DATA_DIR: path.join(root, "data"),
  HTTP_PROXY: process.env.HTTP_PROXY,
  HTTPS_PROXY: process.env.HTTPS_PROXY,
  NO_PROXY: process.env.NO_PROXY,
});

export interface Built {
  result: BuildResult;
  log: string[];
  sourceDir: string;
}

let builds = 0;

export async function build(
  fixture: string,
  opts: {
    app?: string;
    config?: Record<string, string>;
    buildpacks?: string[];
    cacheKey?: string;
    prepare?: (dir: string) => void;
  } = {},
): Promise<Built> {
  builds += 1;
  const app = (opts.app ?? fixture) as AppName;
  const release = `v${builds}`;
  const sourceDir = path.join(root, `src-${builds}`);
  fs.cpSync(path.join(FIXTURES, "apps", fixture), sourceDir, { recursive: true });
  opts.prepare?.(sourceDir);
  const log: string[] = [];
  const t0 = Date.now();
  const result = await buildpacksBuilder
    .build({
      app,
      release,
      commit: "0123456789abcdef0123456789abcdef01234567",
      sourceDir,
      imageTag: `${NS}/${app}:${release}`,
      labels: ownedLabels(NS, { [LABEL.app]: app, [LABEL.release]: release, [LABEL.kind]: "release" }),
      config: opts.config ?? {},
      cacheDir: path.join(root, "cache", opts.cacheKey ?? app),
      appBuild: { buildpacks: opts.buildpacks },
      settings,
      docker,
      log: (line) => {
        log.push(line);
        if (process.env.BP_TRACE) console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
      },
    })
    .catch((err: unknown) => {
      (err as { buildLog?: string[] }).buildLog = log;
      throw err;
    });
  return { result, log, sourceDir };
}

export interface Running {
  id: string;
  url: string;
}

/** Start a container of the image the way the runtime does (Cmd: sh -c <command>). */
export async function run(image: string, command?: string, env: string[] = []): Promise<Running> {
  const id = await docker.containers.create({
    name: `${NS}-run-${randomBytes(3).toString("hex")}`,
    Image: image,
    Cmd: command ? ["/bin/sh", "-c", command] : undefined,
    Env: ["PORT=5000", ...env],
    Labels: ownedLabels(NS),
    ExposedPorts: { "5000/tcp": {} },
    HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
  });
  await docker.containers.start(id);
  const info = await docker.containers.inspect(id);
  const port = info?.NetworkSettings.Ports["5000/tcp"]?.[0]?.HostPort;
  if (!port) throw new Error(`container ${id} published no port`);
  return { id, url: `http://127.0.0.1:${port}` };
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** GET until the app answers (it may still be starting), bounded in time. */
export async function getWhenUp(running: Running, pathname = "/", timeoutMs = 30_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await get(`${running.url}${pathname}`);
    } catch (err) {
      last = err;
      const info = await docker.containers.inspect(running.id);
      if (info && !info.State.Running) {
        const logs = await docker.containers.logs(running.id);
        throw new Error(`container exited (${info.State.ExitCode}):\n${logs.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`app did not answer within ${timeoutMs}ms: ${String(last)}`);
}

/** Remove every container and image of this test namespace, then the temp dirs. */
export async function sweep(): Promise<void> {
  for (const c of await docker.containers.list(ownedFilter(NS))) await docker.containers.remove(c.Id);
  await docker.images.removeAll(ownedFilter(NS));
  fs.rmSync(root, { recursive: true, force: true });
}

export function imageSize(info: { Size: number } | null): string {
  return info ? `${(info.Size / 1e6).toFixed(0)} MB` : "?";
}
