import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, Platform, ROOT, sh } from "../helpers/platform.js";

// The plugin system end to end on one real platform: a third-party plugin installed from a
// local git URL (shell triggers and a command, through the real CLI), and the bundled storage
// and network plugins on real Docker volumes and networks.

const p = new Platform();
const stamp = Date.now().toString(36);
const tmp: string[] = [];

async function push(repo: string): Promise<{ code: number; out: string }> {
  const r = await p.git(["push", "paas", "main"], repo);
  return { code: r.code, out: r.stdout + r.stderr };
}

async function redeploy(repo: string, note: string): Promise<{ code: number; out: string }> {
  await p.git(["commit", "-q", "--allow-empty", "-m", note], repo);
  return push(repo);
}

/** A new app from the dockerfile-hello fixture, pushed; returns its checkout. */
async function deployedApp(app: string): Promise<string> {
  const repo = await p.fixtureRepo("dockerfile-hello");
  tmp.push(repo);
  const created = await p.cli(["apps:create", app], { cwd: repo });
  expect(created.code, created.stderr).toBe(0);
  const pushed = await push(repo);
  expect(pushed.code, pushed.out).toBe(0);
  return repo;
}

/** The running web container of an app (the newest release's). */
async function webContainer(app: string): Promise<{ id: string; port: string }> {
  const list = (await dockerContainers(p.ns, app, "app")).filter(
    (c) => c.State === "running" && c.Labels["paas.process"] === "web",
  );
  list.sort((a, b) => b.Created - a.Created);
  expect(list.length, `no running web container of ${app}`).toBeGreaterThan(0);
  const env = await sh("docker", ["inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", list[0].Id]);
  const port = /^PORT=(\d+)$/m.exec(env.stdout)?.[1] ?? "";
  return { id: list[0].Id, port };
}

const exec = (id: string, cmd: string) => sh("docker", ["exec", id, "sh", "-c", cmd]);

/** An HTTP GET from inside a container, bounded (nc -w). */
const httpOverNc = (id: string, host: string, port: string) =>
  sh("docker", ["exec", id, "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port}`]);

beforeAll(async () => {
  await p.start();
  const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
  expect(login.code, login.stderr).toBe(0);
});

afterAll(async () => {
  await p.stop();
  for (const d of tmp) await fsp.rm(d, { recursive: true, force: true });
});

describe("a third-party plugin from a git URL", () => {
  const app = `plug-${stamp}`;
  let repo = "";
  let gitUrl = "";

  beforeAll(async () => {
    // The fixture as its own git repository, as a plugin author would publish it.
    const src = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-plugin-example-"));
    tmp.push(src);
    await fsp.cp(path.join(ROOT, "test/fixtures/plugins/example"), src, { recursive: true });
    for (const args of [
      ["init", "-q", "-b", "main"],
      ["add", "-A"],
      ["commit", "-q", "-m", "example plugin"],
    ]) {
      const r = await p.git(args, src);
      expect(r.code, r.stderr).toBe(0);
    }
    gitUrl = `file://${src}`;
  });

  it("installs from the git URL, enabled, next to the bundled plugins", async () => {
    const install = await p.cli(["plugins:install", gitUrl]);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain("Installed example 0.1.0");
    const list = JSON.parse((await p.cli(["plugins", "--json"])).stdout) as {
      name: string;
      enabled: boolean;
      bundled: boolean;
      source: string | null;
    }[];
    expect(list.find((x) => x.name === "example")).toMatchObject({
      enabled: true,
      bundled: false,
      source: gitUrl,
    });
    expect(list.filter((x) => x.bundled).map((x) => x.name)).toEqual(
      expect.arrayContaining(["network", "storage"]),
    );
    const again = await p.cli(["plugins:install", gitUrl]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("a plugin named example is already installed");
  });

  it("its post-deploy trigger runs on a deploy", async () => {
    repo = await deployedApp(app);
    const log = await fsp.readFile(path.join(p.dataDir, "plugins/example/deploys.log"), "utf8");
    expect(log).toContain(`${app} v`);
    const again = await redeploy(repo, "again");
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(new RegExp(`example: ${app} v\\d+ is live`));
  });

  it("its pre-deploy veto rejects a push, and the old release keeps serving", async () => {
    const before = (await p.get(app)).status;
    expect(before).toBe(200);
    const freeze = await p.cli(["config:set", "EXAMPLE_FREEZE=1"], { cwd: repo });
    expect(freeze.code).toBe(1);
    expect(freeze.stderr).toContain("pre-deploy vetoed by plugin example: deploys of");
    const vetoed = await redeploy(repo, "frozen");
    expect(vetoed.code).not.toBe(0);
    expect(vetoed.out).toContain(`pre-deploy vetoed by plugin example: deploys of ${app} are frozen`);
    expect((await p.get(app)).status).toBe(200);
    const thaw = await p.cli(["config:unset", "EXAMPLE_FREEZE"], { cwd: repo });
    expect(thaw.code, thaw.stderr).toBe(0);
    const ok = await redeploy(repo, "thawed");
    expect(ok.code, ok.out).toBe(0);
  });

  it("its command works through the CLI (help lists it; it runs on the server)", async () => {
    const help = await p.cli(["help"]);
    expect(help.stdout).toContain("example:hello");
    const hello = await p.cli(["example:hello", "bob", "--shout", "-a", app]);
    expect(hello.code, hello.stderr).toBe(0);
    expect(hello.stdout).toBe(`HELLO BOB FROM ${app.toUpperCase()}\n`);
    const noApp = await p.cli(["example:hello"]);
    expect(noApp.code).toBe(1);
  });

  it("disable hides its command and stops its triggers; uninstall removes it", async () => {
    expect((await p.cli(["plugins:disable", "example"])).code).toBe(0);
    const gone = await p.cli(["example:hello", "-a", app]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("unknown command");
    const quiet = await redeploy(repo, "disabled");
    expect(quiet.code, quiet.out).toBe(0);
    expect(quiet.out).not.toContain("example:");
    expect((await p.cli(["plugins:uninstall", "example"])).code).toBe(0);
    const bundled = await p.cli(["plugins:uninstall", "storage"]);
    expect(bundled.code).toBe(1);
    expect(bundled.stderr).toContain("storage is bundled with the platform: disable it instead");
  });
});

describe("storage", () => {
  const app = `store-${stamp}`;
  let repo = "";

  it("a mounted volume keeps a file across a redeploy", async () => {
    repo = await deployedApp(app);
    const bad = await p.cli(["storage:mount", "data"], { cwd: repo });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"data" is not a mount: use NAME:/container/path');
    const mount = await p.cli(["storage:mount", "data:/data"], { cwd: repo });
    expect(mount.code, mount.stderr).toBe(0);
    const first = await webContainer(app);
    const wrote = await exec(first.id, "echo kept > /data/file.txt");
    expect(wrote.code, wrote.stderr).toBe(0);
    const again = await redeploy(repo, "redeploy with storage");
    expect(again.code, again.out).toBe(0);
    const second = await webContainer(app);
    expect(second.id).not.toBe(first.id);
    const read = await exec(second.id, "cat /data/file.txt");
    expect(read.stdout).toBe("kept\n");
    const vol = await sh("docker", [
      "volume",
      "inspect",
      "-f",
      "{{json .Labels}}",
      `${p.ns}.storage.${app}.data`,
    ]);
    expect(JSON.parse(vol.stdout)).toMatchObject({
      "paas.managed": "true",
      "paas.namespace": p.ns,
      "paas.app": app,
    });
    const ps = await p.cli(["ps"], { cwd: repo });
    expect(ps.stdout).toContain("=== Storage");
    expect(ps.stdout).toContain("data:/data");
  });

  it("only admins may mount host paths (or manage plugins); a user with access may mount volumes", async () => {
    const added = await p.cli(["users:add", `dev-${stamp}@example.com`, "--json"]);
    expect(added.code, added.stderr).toBe(0);
    const token = (JSON.parse(added.stdout) as { token: string }).token;
    expect((await p.cli(["access:add", `dev-${stamp}@example.com`, "-a", app])).code).toBe(0);
    const asUser = (args: string[]) =>
      p.cli(args, { env: { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: token } });
    const host = await asUser(["storage:mount", "/etc:/host-etc", "-a", app]);
    expect(host.code).toBe(1);
    expect(host.stderr).toContain("only admins may mount host paths");
    const install = await asUser(["plugins:install", "file:///nowhere.git"]);
    expect(install.code).toBe(1);
    expect(install.stderr).toContain("not an admin");
    const vol = await asUser(["storage:mount", "logs:/logs", "--type", "worker", "-a", app]);
    expect(vol.code, vol.stderr).toBe(0);
    const sock = await p.cli(["storage:mount", "/var/run/docker.sock:/sock", "-a", app]);
    expect(sock.stderr).toContain("the Docker socket is never mounted into apps");
    const mounts = JSON.parse((await p.cli(["storage", "--json", "-a", app])).stdout) as { name: string }[];
    expect(mounts.map((m) => m.name)).toEqual(["data", "logs"]);
    expect((await p.cli(["storage:unmount", "/logs", "-a", app])).code).toBe(0);
  });

  it("unmount takes it off the next containers (the data stays in the volume)", async () => {
    const un = await p.cli(["storage:unmount", "data:/data"], { cwd: repo });
    expect(un.code, un.stderr).toBe(0);
    const c = await webContainer(app);
    expect((await exec(c.id, "test -e /data/file.txt")).code).not.toBe(0);
    expect((await p.cli(["storage"], { cwd: repo })).stdout).toContain("has no mounts");
  });
});

describe("storage for an image that does not run as root", () => {
  const app = `storeuser-${stamp}`;

  it("a new volume belongs to the image's user: writable by it, and kept across a redeploy", async () => {
    // dockerfile-hello, run as a named user (uid 1001), as buildpack apps run as uid 1000.
    const repo = await p.fixtureRepo("dockerfile-hello");
    tmp.push(repo);
    const file = path.join(repo, "Dockerfile");
    const text = await fsp.readFile(file, "utf8");
    await fsp.writeFile(
      file,
      text.replace(
        "CMD [",
        "RUN echo 'web:x:1001:1001:web:/tmp:/bin/sh' >> /etc/passwd && echo 'web:x:1001:' >> /etc/group\nUSER web\nCMD [",
      ),
    );
    await p.git(["commit", "-q", "-am", "run as web"], repo);
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const pushed = await push(repo);
    expect(pushed.code, pushed.out).toBe(0);
    const mount = await p.cli(["storage:mount", "files:/files"], { cwd: repo });
    expect(mount.code, mount.stderr).toBe(0);

    const run = await p.cli(["run", "--no-tty", "--", "sh", "-c", "id -u > /files/x && echo ok"], {
      cwd: repo,
    });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain("ok");
    const web = await webContainer(app);
    expect((await exec(web.id, "echo from-web >> /files/x")).code).toBe(0);
    const owner = await exec(web.id, "stat -c %u:%g /files");
    expect(owner.stdout.trim()).toBe("1001:1001");

    const again = await redeploy(repo, "redeploy with storage");
    expect(again.code, again.out).toBe(0);
    const read = await p.cli(["run", "--no-tty", "--", "cat", "/files/x"], { cwd: repo });
    expect(read.stdout).toContain("1001\nfrom-web\n");
  });
});

describe("networks", () => {
  const [a, b, c] = ["a", "b", "c"].map((x) => `net${x}-${stamp}`);

  it("two apps on a shared network reach each other by name; a third app can't", async () => {
    for (const app of [a, b, c]) await deployedApp(app);
    expect((await p.cli(["networks:create", "shared"])).code).toBe(0);
    for (const app of [a, b]) {
      const r = await p.cli(["networks:attach", "shared", "-a", app]);
      expect(r.code, r.stderr).toBe(0);
    }
    const list = await p.cli(["networks"]);
    expect(list.stdout).toContain(`shared  ${a}, ${b}`);
    const [ca, cb, cc] = [await webContainer(a), await webContainer(b), await webContainer(c)];
    // busybox nc, not wget (the static busybox's wget crashes in these images).
    const get = (from: string, host: string, port: string) => httpOverNc(from, host, port);
    const reach = async (from: string, host: string, port: string) => {
      const r = await get(from, host, port);
      const nets = await sh("docker", ["inspect", "-f", "{{json .NetworkSettings.Networks}}", from]);
      expect(r.stdout, `${host}:${port}: ${r.stderr} (networks: ${nets.stdout})`).toContain(
        "hello from dockerfile-hello",
      );
    };
    // Within an app, and across the shared network, by name.
    await reach(ca.id, `web.${a}.internal`, ca.port);
    await reach(ca.id, `web.${b}.internal`, cb.port);
    await reach(cb.id, `web.1.${a}.internal`, ca.port);
    // Not attached: the name does not resolve, and b's addresses are on no network c is on.
    const byName = await get(cc.id, `web.${b}.internal`, cb.port);
    expect(byName.stderr).toContain("bad address");
    expect(byName.stdout).not.toContain("hello from dockerfile-hello");
    const ips = await sh("docker", [
      "inspect",
      "-f",
      "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
      cb.id,
    ]);
    for (const ip of ips.stdout.trim().split(/\s+/)) {
      expect((await get(cc.id, ip, cb.port)).stdout, `c reached b at ${ip}`).not.toContain("hello from");
    }
    // The router still reaches every app's web containers.
    for (const app of [a, b, c]) expect((await p.get(app)).status).toBe(200);
  });

  it("detach cuts the link; destroy needs the network empty", async () => {
    expect((await p.cli(["networks:destroy", "shared"])).stderr).toContain("still has apps attached");
    for (const app of [a, b]) expect((await p.cli(["networks:detach", "shared", "-a", app])).code).toBe(0);
    const [ca, cb] = [await webContainer(a), await webContainer(b)];
    expect((await httpOverNc(ca.id, `web.${b}.internal`, cb.port)).stdout).not.toContain("hello from");
    const destroy = await p.cli(["networks:destroy", "shared"]);
    expect(destroy.code, destroy.stderr).toBe(0);
  });
});

describe("apps:rename keeps what plugins hold for the app", () => {
  const [from, to, other] = ["rnfrom", "rnto", "rnother"].map((x) => `${x}-${stamp}`);

  it("the storage mount with its data, and shared network attachments, follow the new name", async () => {
    const repo = await deployedApp(from);
    await deployedApp(other);
    expect((await p.cli(["storage:mount", "keep:/keep"], { cwd: repo })).code).toBe(0);
    expect((await exec((await webContainer(from)).id, "echo before-rename > /keep/f")).code).toBe(0);
    expect((await p.cli(["networks:create", "rnnet"])).code).toBe(0);
    for (const app of [from, other])
      expect((await p.cli(["networks:attach", "rnnet", "-a", app])).code).toBe(0);
    const addon = await p.cli(["addons:create", "redis", "-a", from]);
    expect(addon.code, addon.stderr).toBe(0);
    const redisUrl = new URL((await p.cli(["config:get", "REDIS_URL", "-a", from])).stdout.trim());
    const addonName = redisUrl.hostname.split(".")[0];

    const renamed = await p.cli(["apps:rename", from, to], { cwd: repo });
    expect(renamed.code, renamed.stderr + renamed.stdout).toBe(0);

    const web = await webContainer(to);
    expect((await exec(web.id, "cat /keep/f")).stdout).toBe("before-rename\n");
    const mounts = JSON.parse((await p.cli(["storage", "--json", "-a", to])).stdout) as { name: string }[];
    expect(mounts.map((m) => m.name)).toEqual(["keep"]);
    expect((await p.cli(["storage", "-a", from])).code).not.toBe(0);
    expect((await p.cli(["networks"])).stdout).toContain(`rnnet  ${to}, ${other}`);
    const peer = await webContainer(other);
    expect((await httpOverNc(peer.id, `web.${to}.internal`, web.port)).stdout).toContain(
      "hello from dockerfile-hello",
    );

    // The add-on follows: its URL (moved as it was) still answers from the renamed app.
    const ping = await exec(
      web.id,
      `printf 'AUTH ${decodeURIComponent(redisUrl.password)}\r\nPING\r\n' | nc -w 3 ${redisUrl.hostname} ${redisUrl.port}`,
    );
    expect(ping.stdout, ping.stderr).toContain("+PONG");
    expect((await p.cli(["addons", "-a", to])).stdout).toContain(addonName);
    expect((await p.cli(["addons:destroy", addonName, "--confirm", addonName, "-a", to])).code).toBe(0);

    // A new app given the old name gets a volume of its own: not the renamed app's data, and
    // destroying it leaves that data alone.
    const again = await deployedApp(from);
    expect((await p.cli(["storage:mount", "keep:/keep"], { cwd: again })).code).toBe(0);
    expect((await exec((await webContainer(from)).id, "cat /keep/f")).code).not.toBe(0);
    expect((await p.cli(["apps:destroy", from, "--confirm", from])).code).toBe(0);
    expect((await exec((await webContainer(to)).id, "cat /keep/f")).stdout).toBe("before-rename\n");

    // Destroying it under the new name removes the volume made under the old one.
    expect((await p.cli(["networks:detach", "rnnet", "-a", to])).code).toBe(0);
    expect((await p.cli(["apps:destroy", to, "--confirm", to])).code).toBe(0);
    expect((await sh("docker", ["volume", "inspect", `${p.ns}.storage.${from}.keep`])).code).not.toBe(0);
  });
});
