import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, Platform, REDIS_URL, ROOT, sh } from "../helpers/platform.js";

const CLI = path.join(ROOT, "dist/cli/main.js");

// Secrets at rest and the platform's hardening, end to end: what Redis holds after
// config:set, a release and a drain; secrets:rotate-key; the start-up migration of plain
// values; pushes with paths or links that leave the build directory; what app containers
// run with; what a Dockerfile build can reach on this host.

const run = promisify(execFile);
const SECRET = "s3cr3t-value-0b1e2f";
const DRAIN_PASSWORD = "drainpass-77c1";

/** Every string value under the namespace, whatever the key's type. */
async function redisDump(redis: Redis, ns: string): Promise<string> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${ns}:*`, "COUNT", 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      out.push(key);
      if (type === "string") out.push((await redis.get(key)) ?? "");
      else if (type === "hash") out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === "list") out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === "set") out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === "zset") out.push(JSON.stringify(await redis.zrange(key, "0", "-1")));
      else if (type === "stream") out.push(JSON.stringify(await redis.xrange(key, "-", "+")));
    }
  } while (cursor !== "0");
  return out.join("\n");
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 120; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("secrets at rest and hardening", () => {
  const p = new Platform();
  const app = `sec-${Date.now().toString(36)}`;
  const redis = new Redis(REDIS_URL);
  let repo = "";

  beforeAll(async () => {
    await p.start({ PAAS_PIDS_LIMIT: "300" });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
  });

  afterAll(async () => {
    redis.disconnect();
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("Redis holds no config value in clear: live config, release snapshots, drains", async () => {
    const set = await p.cli(["config:set", `GREETING=${SECRET}`], { cwd: repo });
    expect(set.code, set.stderr).toBe(0);
    const drain = await p.cli(["drains:add", `https://user:${DRAIN_PASSWORD}@127.0.0.1:9/logs`], {
      cwd: repo,
    });
    expect(drain.code, drain.stderr).toBe(0);
    const dump = await redisDump(redis, p.ns);
    expect(dump).toContain(`${p.ns}:config:${app}`);
    expect(dump).not.toContain(SECRET);
    expect(dump).not.toContain(DRAIN_PASSWORD);
    const stored = await redis.hget(`${p.ns}:config:${app}`, "GREETING");
    expect(stored).toMatch(/^\$sb2\$[0-9a-f]{8}\$/);
    // Those allowed see the values; the app gets them; the platform's log never shows them.
    expect((await p.cli(["config:get", "GREETING"], { cwd: repo })).stdout).toBe(`${SECRET}\n`);
    const env = await p.get(app, "/cgi-bin/env");
    expect(env.body).toContain(`greeting=${SECRET}`);
    const releases = JSON.parse((await p.cli(["releases", "--json"], { cwd: repo })).stdout);
    expect(releases.length).toBeGreaterThan(1);
    expect(p.output).not.toContain(SECRET);
    expect(p.output).not.toContain(DRAIN_PASSWORD);
    const list = await p.cli(["drains", "--json"], { cwd: repo });
    expect(list.stdout).toContain(DRAIN_PASSWORD);
  });

  it("secrets:rotate-key re-seals everything; values stay readable and the app restarts with them", async () => {
    const keyFile = path.join(p.dataDir, "secret.key");
    const before = fs.readFileSync(keyFile, "utf8");
    const oldId = ((await redis.hget(`${p.ns}:config:${app}`, "GREETING")) ?? "").split("$")[2];
    const rot = await p.cli(["secrets:rotate-key", "--json"]);
    expect(rot.code, rot.stderr).toBe(0);
    const report = JSON.parse(rot.stdout.slice(rot.stdout.indexOf("{")));
    expect(report).toMatchObject({ rotated: true, oldKey: oldId, remaining: 0 });
    expect(report.resealed).toBeGreaterThan(2);
    expect(fs.readFileSync(keyFile, "utf8")).not.toBe(before);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    // The old key is gone once nothing needs it; nothing in Redis names it any more.
    expect(fs.readdirSync(p.dataDir).filter((f) => f.startsWith("secret.key."))).toEqual([]);
    const dump = await redisDump(redis, p.ns);
    expect(dump).not.toContain(`$sb2$${oldId}$`);
    expect(dump).toContain(`$sb2$${report.currentKey}$`);
    expect(dump).not.toContain(SECRET);
    expect((await p.cli(["config:get", "GREETING"], { cwd: repo })).stdout).toBe(`${SECRET}\n`);
    expect((await p.cli(["drains", "--json"], { cwd: repo })).stdout).toContain(DRAIN_PASSWORD);
    const restart = await p.cli(["ps:restart"], { cwd: repo });
    expect(restart.code, restart.stderr).toBe(0);
    const env = await p.get(app, "/cgi-bin/env");
    expect(env.body).toContain(`greeting=${SECRET}`);
  });

  it("a value stored in clear before (older platform) is read, and sealed on the next start", async () => {
    await redis.hset(`${p.ns}:config:${app}`, "LEGACY", "plain-legacy-value");
    expect((await p.cli(["config:get", "LEGACY"], { cwd: repo })).stdout).toBe("plain-legacy-value\n");
    await p.restart();
    await until("the legacy value sealed", async () =>
      /^\$sb2\$/.test((await redis.hget(`${p.ns}:config:${app}`, "LEGACY")) ?? ""),
    );
    expect((await p.cli(["config:get", "LEGACY"], { cwd: repo })).stdout).toBe("plain-legacy-value\n");
  });

  it("a worker host with another key refuses to start; with PAAS_SECRET_KEY it starts", async () => {
    const elsewhere = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-worker-"));
    const env = {
      ...process.env,
      PAAS_NAMESPACE: p.ns,
      PAAS_DATA_DIR: elsewhere,
      PAAS_REDIS_URL: REDIS_URL,
      PAAS_ROLES: "worker",
      PAAS_BIND: "127.0.0.1",
    };
    try {
      const refused = await sh(process.execPath, [CLI, "server"], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /secrets key \([0-9a-f]{8}\) is not the platform's.*set PAAS_SECRET_KEY/,
      );
      // The API host's key, given as PAAS_SECRET_KEY: the worker starts (stopped at once).
      const key = fs.readFileSync(path.join(p.dataDir, "secret.key"), "utf8").trim();
      const child = spawn(process.execPath, [CLI, "server"], {
        env: { ...env, PAAS_SECRET_KEY: key },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        out += d;
      });
      await until(
        "the worker to start",
        async () => out.includes("paas is running") || child.exitCode !== null,
      );
      expect(out).toContain("paas is running");
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
    } finally {
      await fsp.rm(elsewhere, { recursive: true, force: true });
    }
  });

  it("app containers: no-new-privileges, capabilities dropped, a pids limit, memory, no host network or socket", async () => {
    const [c] = await dockerContainers(p.ns, app, "app");
    const info = await new Docker().getContainer(c.Id).inspect();
    const h = info.HostConfig;
    expect(h.SecurityOpt).toContain("no-new-privileges");
    expect(h.CapDrop).toEqual(
      expect.arrayContaining(["NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"]),
    );
    expect(h.CapAdd ?? []).toEqual([]);
    expect(h.PidsLimit).toBe(300);
    expect(h.Memory).toBeGreaterThan(0);
    expect(h.Privileged).toBe(false);
    expect(h.NetworkMode).not.toBe("host");
    const mounts = JSON.stringify([info.Mounts, h.Binds ?? []]);
    expect(mounts).not.toContain("docker.sock");
    // The app still serves (it runs as root in its image, with what it needs kept).
    expect((await p.get(app)).status).toBe(200);
  });

  it("a push with a symlink out of the repository, or a ../ path, is refused", async () => {
    const link = await p.fixtureRepo("dockerfile-hello", async (dir) => {
      await fsp.symlink("/etc/passwd", path.join(dir, "Procfile"));
    });
    await run("git", ["remote", "add", "paas", `${p.apiUrl}/git/${app}.git`], { cwd: link });
    const pushed = await p.git(["push", "paas", "main", "--force"], link);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain("leave the build directory");
    expect(pushed.stderr).toContain("/etc/passwd");

    // A tree with a ".." entry (git fsck only warns; clients can push it).
    const blob = (await run("git", ["hash-object", "-w", "Dockerfile"], { cwd: link })).stdout.trim();
    const inner = await mktree(link, `100644 blob ${blob}\tevil\n`);
    const outer = await mktree(link, `040000 tree ${inner}\t..\n100644 blob ${blob}\tDockerfile\n`);
    const commit = (
      await run("git", ["commit-tree", outer, "-m", "dotdot"], { cwd: link, env: p.env() })
    ).stdout.trim();
    const dotdot = await p.git(["push", "paas", `${commit}:refs/heads/main`, "--force"], link);
    expect(dotdot.code).not.toBe(0);
    expect(dotdot.stderr).toContain("leaves the build directory (../evil)");
    await fsp.rm(link, { recursive: true, force: true });
    // The app still runs the last good release.
    expect((await p.get(app)).status).toBe(200);
  });

  it("a Dockerfile build cannot reach this host: its API, Redis or any other port", async () => {
    const docker = new Docker();
    // The host's address on Docker's default bridge (docker0).
    const hostIp = os.networkInterfaces().docker0?.find((a) => a.family === "IPv4")?.address ?? "172.17.0.1";
    // A listener on the host's Docker bridge address: a container on Docker's default
    // bridge reaches it (the control); a build must not.
    const server = net.createServer((s) => s.end("hi\n"));
    await new Promise<void>((r) => server.listen(0, hostIp, () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const control = await run("docker", [
        "run",
        "--rm",
        "--label",
        "paas.managed=true",
        "--label",
        `paas.namespace=${p.ns}`,
        "paas/busybox:latest",
        "sh",
        "-c",
        `nc -w 3 ${hostIp} ${port} </dev/null && echo REACHED`,
      ]).catch((err) => err as { stdout: string });
      expect(control.stdout).toContain("REACHED");

      const probe = (name: string, ip: string, to: number) =>
        `if nc -w 3 ${ip} ${to} </dev/null >/dev/null 2>&1; then echo "PROBE ${name} REACHED"; else echo "PROBE ${name} BLOCKED"; fi`;
      const gw = "$(ip route | awk '/default/ {print $3}')";
      const dir = await p.fixtureRepo("dockerfile-hello", async (d) => {
        const steps = [
          probe("listener", hostIp, port),
          probe("gateway-listener", gw, port),
          probe("api", gw, p.apiPort),
          probe("api-bridge", hostIp, p.apiPort),
          probe("redis", hostIp, 6379),
          probe("redis-gw", gw, 6379),
        ];
        const df = fs.readFileSync(path.join(d, "Dockerfile"), "utf8");
        await fsp.writeFile(
          path.join(d, "Dockerfile"),
          df.replace("COPY www /www", `RUN ${steps.join("; ")}\nCOPY www /www`),
        );
      });
      await run("git", ["remote", "add", "paas", `${p.apiUrl}/git/${app}.git`], { cwd: dir });
      const push = await p.git(["push", "paas", "main", "--force"], dir);
      const out = push.stdout + push.stderr;
      expect(push.code, out).toBe(0);
      for (const name of ["listener", "gateway-listener", "api", "api-bridge", "redis", "redis-gw"])
        expect(out).toMatch(new RegExp(`^remote:\\s+PROBE ${name} BLOCKED`, "m"));
      expect(out).not.toMatch(/^remote:\s+PROBE \S+ REACHED/m);

      // A buildpack build's compile step (heroku-postbuild here) is kept off the host too.
      const bashProbe = (name: string, ip: string, to: number) =>
        `if timeout 3 bash -c 'echo > /dev/tcp/${ip}/${to}' 2>/dev/null; then echo PROBE ${name} REACHED; else echo PROBE ${name} BLOCKED; fi`;
      const bp = await p.fixtureRepo("bp-node-procfile", async (d) => {
        const probes = [
          bashProbe("bp-listener", hostIp, port),
          bashProbe("bp-api", hostIp, p.apiPort),
          bashProbe("bp-redis", hostIp, 6379),
        ];
        await fsp.writeFile(path.join(d, "probe.sh"), `${probes.join("\n")}\n`);
        const pkg = JSON.parse(fs.readFileSync(path.join(d, "package.json"), "utf8"));
        pkg.scripts = { "heroku-postbuild": "bash probe.sh" };
        await fsp.writeFile(path.join(d, "package.json"), JSON.stringify(pkg));
      });
      const bpApp = `${app}-bp`;
      expect((await p.cli(["apps:create", bpApp], { cwd: bp })).code).toBe(0);
      const bpPush = await p.git(["push", "paas", "main"], bp);
      const bpOut = bpPush.stdout + bpPush.stderr;
      expect(bpPush.code, bpOut).toBe(0);
      for (const name of ["bp-listener", "bp-api", "bp-redis"])
        expect(bpOut).toMatch(new RegExp(`^remote:\\s+PROBE ${name} BLOCKED`, "m"));
      expect(bpOut).not.toMatch(/^remote:\s+PROBE \S+ REACHED/m);
      await fsp.rm(bp, { recursive: true, force: true });

      const nets = await docker.listNetworks({ filters: JSON.stringify({ name: ["paas-builds"] }) });
      expect(nets[0]?.Options?.["com.docker.network.bridge.enable_icc"]).toBe("false");
      await fsp.rm(dir, { recursive: true, force: true });
    } finally {
      server.close();
    }
  });

  it("/internal/push takes only the hook's secret and archives in the platform's export directory", async () => {
    const post = (secret: string, tarPath: string) =>
      fetch(`${p.apiUrl}/internal/push`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-paas-hook-secret": secret },
        body: JSON.stringify({ app, ref: "refs/heads/main", commit: "0".repeat(40), tarPath }),
      });
    const wrong = await post("not-the-secret", "/etc/passwd");
    expect(wrong.status).toBe(403);
    expect(fs.existsSync("/etc/passwd")).toBe(true);
  });
});

async function mktree(cwd: string, entries: string): Promise<string> {
  const child = execFile("git", ["mktree"], { cwd });
  child.stdin?.end(entries);
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  await new Promise((r) => child.on("close", r));
  return out.trim();
}
