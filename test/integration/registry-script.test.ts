import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config.js";
import { connectDocker } from "../../src/docker/index.js";
import { ReleaseRegistry } from "../../src/runtime/swarm/registry.js";
import { freePort } from "../helpers/platform.js";
import { selfSigned } from "../helpers/tls.js";

// scripts/registry.sh, which setup runs for swarm mode without PAAS_REGISTRY: Debian's
// docker-registry with its config, storage, htpasswd, pidfile and log in a data dir (a temp
// one here, never the real one), on a free loopback port, with bcrypt auth and TLS. Then the
// platform's side against it: its API client (basic auth, HTTPS trusting PAAS_REGISTRY_CA)
// and a push through the host's engine with the credentials (127.0.0.0/8 is an insecure
// registry to Docker by default, so the self-signed certificate is accepted there).

const exec = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, "../../scripts/registry.sh");
const PASSWORD = `pw-${crypto.randomBytes(6).toString("hex")}`;

describe("scripts/registry.sh: setup's registry for swarm mode", () => {
  let tmp = "";
  let port = 0;
  let env: Record<string, string> = {};
  let ca: Agent;
  const dir = () => path.join(tmp, "data", "registry");
  const pid = () => fs.readFileSync(path.join(dir(), "registry.pid"), "utf8").trim();
  const script = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await exec("bash", [SCRIPT, ...args], { env: { ...process.env, ...env, ...extra } }).then(
      (o) => ({ code: 0, out: o.stdout + o.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(r.out).not.toContain(PASSWORD);
    return r;
  };
  const v2 = (auth?: string, urlPath = "/v2/") =>
    fetch(`https://127.0.0.1:${port}${urlPath}`, {
      headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {},
      dispatcher: ca,
    });

  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-registry-sh-"));
    port = await freePort();
    const cert = await selfSigned(tmp, "registry", ["127.0.0.1"]);
    ca = new Agent({ connect: { ca: await fsp.readFile(cert.cert, "utf8") } });
    env = {
      PAAS_DATA_DIR: path.join(tmp, "data"),
      PAAS_SCHEDULER: "swarm",
      PAAS_REGISTRY_LISTEN: `127.0.0.1:${port}`,
      PAAS_REGISTRY_USERNAME: "paas",
      PAAS_REGISTRY_PASSWORD: PASSWORD,
      PAAS_REGISTRY_TLS_CERT: cert.cert,
      PAAS_REGISTRY_TLS_KEY: cert.key,
      PAAS_REGISTRY_CA: cert.cert,
    };
  });

  afterAll(async () => {
    // Only the registry this file started (its pidfile), whatever happened above.
    const left = Number(await fsp.readFile(path.join(dir(), "registry.pid"), "utf8").catch(() => "0"));
    if (left > 0) {
      try {
        process.kill(left, "SIGKILL");
      } catch {}
    }
    await ca?.close();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it("starts docker-registry with storage in the data dir, serving /v2/ over HTTPS with bcrypt auth", async () => {
    const r = await script(["start"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`registry up at https://127.0.0.1:${port}`);
    const config = await fsp.readFile(path.join(dir(), "config.yml"), "utf8");
    expect(config).toContain(`rootdirectory: "${dir()}/data"`);
    expect(config).toMatch(/delete:\n\s+enabled: true/);
    expect(config).toContain(`addr: "127.0.0.1:${port}"`);
    expect(config).toContain(`path: "${dir()}/htpasswd"`);
    const htpasswd = await fsp.readFile(path.join(dir(), "htpasswd"), "utf8");
    expect(htpasswd).toMatch(/^paas:\$2y\$10\$/);
    expect((await fsp.stat(path.join(dir(), "htpasswd"))).mode & 0o077).toBe(0);
    expect(`${config}${htpasswd}`).not.toContain(PASSWORD);
    expect((await v2()).status).toBe(401);
    expect((await v2("paas:wrong")).status).toBe(401);
    expect((await v2(`paas:${PASSWORD}`)).status).toBe(200);
    expect(fs.readFileSync(`/proc/${pid()}/cmdline`, "utf8").split("\0")).toEqual([
      "docker-registry",
      "serve",
      path.join(dir(), "config.yml"),
      "",
    ]);
  });

  it("is idempotent: a second start leaves the running registry alone", async () => {
    const before = pid();
    const r = await script(["start"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain("starting");
    expect(r.out).toContain(`registry up at https://127.0.0.1:${port} (pid ${before}`);
    expect(pid()).toBe(before);
    expect((await script(["status"])).code).toBe(0);
  });

  it("the platform defaults to it and speaks auth and HTTPS to its API; pushes carry the credentials", async () => {
    const settings = loadSettings({ ...env, PAAS_BUILD_CA_BUNDLE: "none" });
    expect(settings).toMatchObject({
      registry: `127.0.0.1:${port}`,
      registryLocal: true,
      registryConfig: path.join(dir(), "config.yml"),
      registryTls: true,
    });
    const docker = connectDocker();
    const registry = new ReleaseRegistry(settings, docker);
    const said = await registry.describe();
    expect(said.ok, said.line).toBe(true);
    expect(said.line).toContain(`setup's registry at 127.0.0.1:${port}`);
    expect(said.line).toContain("user paas");
    expect(said.line).not.toContain(PASSWORD);
    // Without the CA the certificate is refused, and the start line says why.
    const noCa = await new ReleaseRegistry({ ...settings, registryCa: null }, docker).describe();
    expect(noCa.ok).toBe(false);
    expect(noCa.line).toMatch(/does not answer \(.*certificate.*\): start it with scripts\/registry.sh/);
    const wrong = new ReleaseRegistry(
      { ...settings, registryAuth: { username: "paas", password: "x" } },
      docker,
    );
    expect((await wrong.describe()).line).toContain("refuses PAAS_REGISTRY_USERNAME/PASSWORD");

    // A push through the host's engine: refused without the credentials, a digest with them.
    const repo = `127.0.0.1:${port}/t${crypto.randomBytes(3).toString("hex")}/probe`;
    await docker.images.tag("paas/busybox:latest", repo, "v1");
    try {
      await expect(docker.images.push(repo, "v1")).rejects.toThrow(/basic auth|unauthorized|authentication/i);
      const digest = await docker.images.push(repo, "v1", registry.auth);
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const tags = (await (
        await v2(`paas:${PASSWORD}`, `/v2/${repo.split("/").slice(1).join("/")}/tags/list`)
      ).json()) as {
        tags: string[];
      };
      expect(tags.tags).toEqual(["v1"]);
    } finally {
      await docker.images.remove(`${repo}:v1`);
    }
  });

  it("restarts when the password changes, and stops", async () => {
    const before = pid();
    const next = `${PASSWORD}-2`;
    const r = await exec("bash", [SCRIPT, "start"], {
      env: { ...process.env, ...env, PAAS_REGISTRY_PASSWORD: next },
    });
    expect(r.stdout + r.stderr).toContain("restarting the registry");
    expect(pid()).not.toBe(before);
    expect((await v2(`paas:${PASSWORD}`)).status).toBe(401);
    expect((await v2(`paas:${next}`)).status).toBe(200);
    const running = Number(pid());
    const stop = await script(["stop"]);
    expect(stop.code, stop.out).toBe(0);
    expect(fs.existsSync(path.join(dir(), "registry.pid"))).toBe(false);
    // Gone (or a zombie nobody reaped yet: PID 1 of a container may not).
    const state = fs.existsSync(`/proc/${running}/stat`)
      ? fs.readFileSync(`/proc/${running}/stat`, "utf8").split(") ")[1]?.[0]
      : "gone";
    expect(["gone", "Z", "X"]).toContain(state);
    expect((await script(["status"])).code).toBe(1);
    const settings = loadSettings({ ...env, PAAS_BUILD_CA_BUNDLE: "none" });
    const down = await new ReleaseRegistry(settings, connectDocker()).describe();
    expect(down.ok).toBe(false);
    expect(down.line).toContain("ECONNREFUSED");
  });
});
