import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, Platform, type Result, sh } from "../helpers/platform.js";

// git over SSH, end to end: the platform's own SSH server (ssh2), the system ssh and git,
// keys made with ssh-keygen and registered with the real CLI.

const run = promisify(execFile);

describe("git over SSH", () => {
  const p = new Platform();
  const app = `ssh-${Date.now().toString(36)}`;
  let sshPort = 0;
  let repo = "";
  let keys = "";

  const keygen = async (name: string) => {
    const file = path.join(keys, name);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}@test`, "-f", file]);
    return file;
  };
  const sshCommand = (key: string) =>
    `ssh -i ${key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p ${sshPort}`;
  const gitSsh = (key: string, args: string[], cwd: string): Promise<Result> =>
    sh("git", args, { cwd, env: p.env({ GIT_SSH_COMMAND: sshCommand(key) }) });
  const sshRun = (key: string, args: string[]): Promise<Result> =>
    sh("ssh", [...sshCommand(key).split(" ").slice(1), "-o", "BatchMode=yes", "git@127.0.0.1", ...args], {
      env: p.env(),
    });
  const url = () => `ssh://git@127.0.0.1:${sshPort}/${app}.git`;

  beforeAll(async () => {
    sshPort = await freePort();
    await p.start({ PAAS_SSH_PORT: String(sshPort) });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    keys = await fsp.mkdtemp(path.join(p.home, "keys-"));
    repo = await p.fixtureRepo("dockerfile-hello");
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("keeps one ed25519 host key in the data dir (0600)", async () => {
    const file = path.join(p.dataDir, "ssh_host_ed25519_key");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(p.output).toContain(`ssh://git@127.0.0.1:${sshPort}/<app>.git`);
    const scan = await sh("ssh-keyscan", ["-t", "ed25519", "-p", String(sshPort), "127.0.0.1"]);
    const pub = (await run("ssh-keygen", ["-y", "-f", file])).stdout.trim().split(" ")[1];
    expect(scan.stdout).toContain(pub);
  });

  it("keys:add validates the file, lists by SHA256 fingerprint, refuses a duplicate", async () => {
    const key = await keygen("alice");
    const bad = await p.cli(["keys:add", key]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("private key");
    const garbage = path.join(keys, "garbage.pub");
    await fsp.writeFile(garbage, "not a key\n");
    const bad2 = await p.cli(["keys:add", garbage]);
    expect(bad2.code).toBe(1);
    expect(bad2.stderr).toContain("not an SSH public key");
    expect(bad2.stderr).not.toMatch(/\n\s+at /);

    const add = await p.cli(["keys:add", `${key}.pub`]);
    expect(add.code, add.stderr).toBe(0);
    const fp = (await run("ssh-keygen", ["-lf", `${key}.pub`])).stdout.split(" ")[1];
    expect(add.stdout).toContain(fp);
    const again = await p.cli(["keys:add", `${key}.pub`]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already added");
    const listed = await p.cli(["keys", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const list = JSON.parse(listed.stdout) as {
      fingerprint: string;
      user: string;
    }[];
    expect(list).toEqual([expect.objectContaining({ fingerprint: fp, user: "admin" })]);
  });

  it("a push with a registered key deploys, streaming the build as remote: lines", async () => {
    const push = await gitSsh(path.join(keys, "alice"), ["push", url(), "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code, out).toBe(0);
    expect(out).toContain("remote: -----> Building");
    expect(out).toContain(`http://${app}.paas.test:${p.routerPort}`);
    const res = await p.get(app);
    expect(res.status).toBe(200);
    expect(res.body).toContain("hello from dockerfile-hello");
  });

  it("a failing deploy rejects the push", async () => {
    await fsp.writeFile(path.join(repo, "Dockerfile"), "FROM paas/busybox:latest\nRUN exit 3\n");
    await run("git", ["commit", "-qam", "broken"], { cwd: repo, env: p.env() });
    const push = await gitSsh(path.join(keys, "alice"), ["push", url(), "main"], repo);
    const out = push.stdout + push.stderr;
    expect(push.code).not.toBe(0);
    expect(out).toContain("Push rejected");
    expect(out).toMatch(/\[remote rejected\] main -> main/);
    await run("git", ["reset", "-q", "--hard", "HEAD~1"], { cwd: repo });
  });

  it("clone and fetch work with the key", async () => {
    const dest = path.join(keys, "clone");
    const clone = await gitSsh(path.join(keys, "alice"), ["clone", "-q", url(), dest], keys);
    expect(clone.code, clone.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dest, "www", "index.html"), "utf8")).toContain(
      "hello from dockerfile-hello",
    );
    const fetch = await gitSsh(path.join(keys, "alice"), ["fetch", "-q", "origin"], dest);
    expect(fetch.code, fetch.stderr).toBe(0);
  });

  it("another user's key: refused without access to the app, allowed as a collaborator", async () => {
    const added = await p.cli(["users:add", "bob@example.com", "--json"]);
    expect(added.code, added.stderr).toBe(0);
    const bob = { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: JSON.parse(added.stdout).token as string };
    const key = await keygen("bob");
    const add = await p.cli(["keys:add", `${key}.pub`], { env: bob });
    expect(add.code, add.stderr).toBe(0);
    // Keys are per user: bob sees his only and cannot remove the admin's.
    const mine = JSON.parse((await p.cli(["keys", "--json"], { env: bob })).stdout) as { user: string }[];
    expect(mine.map((k) => k.user)).toEqual(["bob@example.com"]);
    const alice = (await run("ssh-keygen", ["-lf", path.join(keys, "alice.pub")])).stdout.split(" ")[1];
    const steal = await p.cli(["keys:remove", alice], { env: bob });
    expect(steal.code).toBe(1);
    expect(steal.stderr).toContain("no key");

    const dest = path.join(keys, "bob-clone");
    const refused = await gitSsh(key, ["clone", "-q", url(), dest], keys);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/paas: bob@example.com has no access/);
    const push = await gitSsh(key, ["push", url(), "main"], repo);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/paas: bob@example.com has no access/);

    const grant = await p.cli(["access:add", "bob@example.com", "-a", app]);
    expect(grant.code, grant.stderr).toBe(0);
    const clone = await gitSsh(key, ["clone", "-q", url(), dest], keys);
    expect(clone.code, clone.stderr).toBe(0);
    expect(fs.existsSync(path.join(dest, "Dockerfile"))).toBe(true);
    // Removing the user takes their keys with them.
    expect((await p.cli(["users:remove", "bob@example.com"])).code).toBe(0);
    const gone = await gitSsh(key, ["fetch", "-q", "origin"], dest);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("Permission denied (publickey)");
  });

  it("an unknown key is refused", async () => {
    const stranger = await keygen("stranger");
    const push = await gitSsh(stranger, ["push", url(), "main"], repo);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("Permission denied (publickey)");
    const clone = await gitSsh(stranger, ["clone", "-q", url(), path.join(keys, "nope")], keys);
    expect(clone.code).not.toBe(0);
    expect(fs.existsSync(path.join(keys, "nope", ".git"))).toBe(false);
  });

  it("a shell, a pty and any other command are refused with one line", async () => {
    const key = path.join(keys, "alice");
    for (const args of [["-tt"], [], ["ls", "/"], ["git-receive-pack", "'/../../etc.git'"]]) {
      const r = await sshRun(key, args);
      expect(r.code, `${JSON.stringify(args)}: ${r.stderr}`).toBe(1);
      expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^paas: /);
    }
    const shell = await sshRun(key, []);
    expect(shell.stderr).toContain("paas: only git push/fetch are allowed over SSH");
    const missing = await sshRun(key, ["git-upload-pack", "'/no-such-app.git'"]);
    expect(missing.stderr).toContain('app "no-such-app" not found');
  });

  it("keys:remove takes the key away: the next push is refused", async () => {
    const fp = (await run("ssh-keygen", ["-lf", path.join(keys, "alice.pub")])).stdout.split(" ")[1];
    const bad = await p.cli(["keys:remove", "MD5:00"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("not a key fingerprint");
    const rm = await p.cli(["keys:remove", fp]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(JSON.parse((await p.cli(["keys", "--json"])).stdout)).toEqual([]);
    const push = await gitSsh(path.join(keys, "alice"), ["push", url(), "main"], repo);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("Permission denied (publickey)");
  });
});
