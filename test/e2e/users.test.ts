import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, Platform, sh } from "../helpers/platform.js";

// Many users on one platform, end to end: an owner, a collaborator, a stranger and the
// admin against one real server, over the API, git over HTTP, `paas run`'s websocket and the
// dashboard; tokens that expire or are revoked; the audit trail; failed logins limited.

interface User {
  email: string;
  token: string;
}

describe("users and access", () => {
  const p = new Platform();
  const suffix = Date.now().toString(36);
  const app = `owned-${suffix}`;
  const spare = `spare-${suffix}`;
  const owner: User = { email: `owner-${suffix}@example.com`, token: "" };
  const collab: User = { email: `collab-${suffix}@example.com`, token: "" };
  const stranger: User = { email: `stranger-${suffix}@example.com`, token: "" };
  const password = "correct horse battery";
  let admin: User;
  let repo = "";
  let sshPort = 0;

  const as = (u: User, args: string[], cwd?: string) =>
    p.cli(args, { cwd, env: { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: u.token } });
  const api = (u: User | null, route: string, init: RequestInit = {}) =>
    fetch(`${p.apiUrl}/api/v1${route}`, {
      ...init,
      headers: {
        ...(u ? { authorization: `Bearer ${u.token}` } : {}),
        ...(init.body ? { "content-type": "application/json" } : {}),
      },
    });
  const gitUrl = (u: User) => `http://git:${u.token}@127.0.0.1:${p.apiPort}/git/${app}.git`;
  const appNames = async (u: User) =>
    ((await (await api(u, "/apps")).json()) as { name: string }[]).map((a) => a.name);

  /** Sign in to the dashboard with a token: the session cookie. */
  const dashboardCookie = async (u: User) => {
    const res = await fetch(`${p.apiUrl}/dashboard/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: u.token }).toString(),
    });
    expect(res.status).toBe(303);
    return res.headers.getSetCookie()[0].split(";")[0];
  };
  const dash = (cookie: string, route: string, form?: Record<string, string>) =>
    fetch(`${p.apiUrl}/dashboard${route}`, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: { cookie, ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
  const csrfOf = async (cookie: string) =>
    /name="_csrf" value="([^"]+)"/.exec(await (await dash(cookie, "/")).text())![1];

  const addUser = async (u: User, extra: string[] = []) => {
    const res = await as(admin, ["users:add", u.email, "--json", ...extra]);
    expect(res.code, res.stderr).toBe(0);
    u.token = (JSON.parse(res.stdout) as { token: string }).token;
    expect(u.token).toMatch(/^paas_/);
  };

  beforeAll(async () => {
    sshPort = await freePort();
    await p.start({ PAAS_SSH_PORT: String(sshPort) });
    admin = { email: "admin", token: p.token };
    await addUser(owner, ["--password", password]);
    await addUser(collab);
    await addUser(stranger);
    repo = await p.fixtureRepo("dockerfile-hello");
    for (const name of [app, spare]) {
      const created = await as(owner, ["apps:create", name]);
      expect(created.code, created.stderr).toBe(0);
    }
    const push = await p.git(["push", gitUrl(owner), "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const added = await as(owner, ["access:add", collab.email, "-a", app]);
    expect(added.code, added.stderr).toBe(0);
    expect((await as(owner, ["access:add", collab.email, "-a", spare])).code).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("lists users for admins only, and shows who may use an app", async () => {
    const users = await as(admin, ["users", "--json"]);
    expect(users.code, users.stderr).toBe(0);
    const rows = JSON.parse(users.stdout) as { email: string; role: string; apps: number }[];
    expect(rows.find((u) => u.email === owner.email)).toMatchObject({ role: "user", apps: 2 });
    const refused = await as(stranger, ["users"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^error: .*not an admin/);
    const access = JSON.parse((await as(collab, ["access", "-a", app, "--json"])).stdout);
    expect(access).toEqual({ app, owner: owner.email, collaborators: [collab.email] });
    const info = await as(collab, ["apps:info", "-a", app]);
    expect(info.stdout).toMatch(new RegExp(`Owner:\\s+${owner.email}`));
  });

  it("keeps a stranger out of the app over the API", async () => {
    expect(await appNames(stranger)).not.toContain(app);
    const tries: [string, RequestInit?][] = [
      [`/apps/${app}`],
      [`/apps/${app}/config`],
      [`/apps/${app}/logs`],
      [`/apps/${app}/logs?tail=1`],
      [`/apps/${app}/formation`, { method: "PATCH", body: JSON.stringify({ web: "2" }) }],
      [`/apps/${app}/config`, { method: "PATCH", body: JSON.stringify({ X: "1" }) }],
      [`/apps/${app}?confirm=${app}`, { method: "DELETE" }],
      [`/apps/${app}/access`, { method: "POST", body: JSON.stringify({ email: stranger.email }) }],
    ];
    for (const [route, init] of tries) {
      const res = await api(stranger, route, init);
      expect(res.status, route).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("forbidden");
      expect(body.error.message).toContain(`${stranger.email} has no access to this app`);
    }
    const cli = await as(stranger, ["config", "-a", app]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/^error: .*has no access/);
    expect(await appNames(owner)).toContain(app);
  });

  it("keeps a stranger from fetching, pushing and running", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-clone-"));
    try {
      const clone = await p.git(["clone", gitUrl(stranger), dir], os.tmpdir());
      expect(clone.code).not.toBe(0);
      expect(clone.stderr).toMatch(/403/);
      const push = await p.git(["push", gitUrl(stranger), "main"], repo);
      expect(push.code).not.toBe(0);
      const run = await as(stranger, ["run", "--no-tty", "-a", app, "--", "echo", "in"]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/has no access/);
      expect(run.stdout).not.toContain("in");
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it("asks the same policy for git over SSH", async () => {
    const keyOf = async (u: User, name: string) => {
      const file = path.join(p.home, `${name}-${suffix}`);
      await promisify(execFile)("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
      const added = await as(u, ["keys:add", `${file}.pub`]);
      expect(added.code, added.stderr).toBe(0);
      return file;
    };
    const ssh = (key: string, args: string[], cwd: string) =>
      sh("git", args, {
        cwd,
        env: p.env({
          GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p ${sshPort}`,
        }),
      });
    const url = `ssh://git@127.0.0.1:${sshPort}/${app}.git`;
    const strangerKey = await keyOf(stranger, "stranger");
    const collabKey = await keyOf(collab, "collab");
    const denied = await ssh(strangerKey, ["ls-remote", url], os.tmpdir());
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/has no access/);
    const push = await ssh(strangerKey, ["push", url, "main"], repo);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/has no access/);
    const allowed = await ssh(collabKey, ["ls-remote", url], os.tmpdir());
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/refs\/heads\/main/);
  });

  it("keeps a stranger out of the app on the dashboard", async () => {
    const cookie = await dashboardCookie(stranger);
    const home = await (await dash(cookie, "/")).text();
    expect(home).not.toContain(`/dashboard/apps/${app}"`);
    for (const route of [`/apps/${app}`, `/apps/${app}/config`, `/apps/${app}/live/logs`]) {
      const res = await dash(cookie, route);
      expect(res.status, route).toBe(403);
      expect(await res.text()).toContain("has no access");
    }
    const scale = await dash(cookie, `/apps/${app}/scale`, { _csrf: await csrfOf(cookie), "scale.web": "3" });
    expect(scale.status).toBe(403);
    expect((await api(admin, `/apps/${app}/formation`).then((r) => r.json())) as object).toMatchObject({
      web: 1,
    });
  });

  it("lets a collaborator read, fetch, push, run, tail and scale", async () => {
    expect(await appNames(collab)).toEqual([app, spare].sort());
    const set = await as(collab, ["config:set", "SHARED=yes", "-a", app]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse((await as(collab, ["config", "--json", "-a", app])).stdout)).toMatchObject({
      SHARED: "yes",
    });
    const logs = await api(collab, `/apps/${app}/logs?num=5`);
    expect(logs.status).toBe(200);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-clone-"));
    try {
      const clone = await p.git(["clone", gitUrl(collab), dir], os.tmpdir());
      expect(clone.code, clone.stderr).toBe(0);
      await fsp.writeFile(path.join(dir, "www", "collab.txt"), "from the collaborator\n");
      await p.git(["add", "."], dir);
      await p.git(["commit", "-m", "collaborator change"], dir);
      const push = await p.git(["push", gitUrl(collab), "HEAD:main"], dir);
      expect(push.code, push.stdout + push.stderr).toBe(0);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
    const run = await as(collab, ["run", "--no-tty", "-a", app, "--", "cat", "/www/collab.txt"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("from the collaborator");
    const scale = await as(collab, ["ps:scale", "web=2", "-a", app]);
    expect(scale.code, scale.stderr).toBe(0);
    const cookie = await dashboardCookie(collab);
    expect((await dash(cookie, `/apps/${app}`)).status).toBe(200);
    const form = await dash(cookie, `/apps/${app}/scale`, { _csrf: await csrfOf(cookie), "scale.web": "1" });
    expect(form.status).toBe(303);
  });

  it("lets a collaborator destroy an app, but not give away access", async () => {
    const give = await as(collab, ["access:add", stranger.email, "-a", spare]);
    expect(give.code).not.toBe(0);
    expect(give.stderr).toMatch(/owner or an admin/);
    const destroy = await as(collab, ["apps:destroy", spare, "--confirm", spare]);
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(await appNames(admin)).not.toContain(spare);
  });

  it("lets an admin see and change every app", async () => {
    expect(await appNames(admin)).toContain(app);
    expect((await api(admin, `/apps/${app}/config`)).status).toBe(200);
    const run = await as(admin, ["run", "--no-tty", "-a", app, "--", "echo", "admin-was-here"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("admin-was-here");
    const cookie = await dashboardCookie(admin);
    expect((await dash(cookie, `/apps/${app}/config`)).status).toBe(200);
    expect(
      (await fetch(`${p.apiUrl}/metrics`, { headers: { authorization: `Bearer ${admin.token}` } })).status,
    ).toBe(200);
    const metrics = await fetch(`${p.apiUrl}/metrics`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(metrics.status).toBe(403);
  });

  it("records every change with who, what, when and where", async () => {
    const audit = await as(admin, ["audit", "--json", "-a", app]);
    expect(audit.code, audit.stderr).toBe(0);
    const rows = JSON.parse(audit.stdout) as {
      user: string;
      addr: string;
      action: string;
      result: string;
      at: string;
    }[];
    expect(rows).toContainEqual(
      expect.objectContaining({
        user: collab.email,
        addr: "127.0.0.1",
        action: "PATCH /apps/:app/config",
        result: "200",
      }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ user: collab.email, action: "git push", result: "accepted" }),
    );
    expect(rows).toContainEqual(expect.objectContaining({ user: stranger.email, result: "403 denied" }));
    expect(rows.every((r) => !Number.isNaN(Date.parse(r.at)))).toBe(true);
    const events = (await (await api(owner, `/apps/${app}/events?num=200`)).text()).toString();
    expect(events).toContain(`PATCH /apps/:app/formation by ${collab.email} from 127.0.0.1`);
    expect(events).not.toContain("yes by");
    expect((await as(owner, ["audit"])).code).not.toBe(0);
  });

  it("logs in with email and password, and refuses a wrong one", async () => {
    const home = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-home-"));
    const env = { HOME: home };
    const ok = await p.cli(["login", "--api", p.apiUrl, "--email", owner.email, "--password", password], {
      env,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`as ${owner.email}`);
    const apps = await p.cli(["apps", "--json"], { env });
    expect(apps.code, apps.stderr).toBe(0);
    expect(apps.stdout).toContain(app);
    const bad = await p.cli(["login", "--api", p.apiUrl, "--email", owner.email, "--password", "nope-nope"], {
      env,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error: wrong email or password/);
  });

  it("answers 401 to an expired or a revoked token, saying which", async () => {
    const made = await as(owner, ["auth:token", "--expires", "1s", "--json"]);
    expect(made.code, made.stderr).toBe(0);
    const short = JSON.parse(made.stdout) as { id: string; token: string; expiresAt: string };
    expect(short.expiresAt).toBeTruthy();
    const other = JSON.parse((await as(owner, ["auth:token", "--description", "ci", "--json"])).stdout) as {
      id: string;
      token: string;
    };
    expect((await api({ email: "", token: other.token }, "/whoami")).status).toBe(200);
    const listed = await as(owner, ["auth:tokens", "--json"]);
    expect(listed.stdout).toContain(other.id);
    expect(listed.stdout).not.toContain(other.token);
    expect((await as(owner, ["auth:revoke", other.id])).code).toBe(0);
    const revoked = await api({ email: "", token: other.token }, "/whoami");
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
    for (let i = 0; i < 50 && Date.now() <= Date.parse(short.expiresAt); i++)
      await new Promise((r) => setTimeout(r, 100));
    const expired = await api({ email: "", token: short.token }, "/whoami");
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
  });

  it("limits failed logins per source address with 429 and Retry-After", async () => {
    // From 127.0.0.2, so this address's block does not touch the other tests' 127.0.0.1.
    const from2 = (method: string, route: string, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; retryAfter?: string }>((resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port: p.apiPort, localAddress: "127.0.0.2", method, path: route, headers },
          (res) => {
            res.resume();
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string }),
            );
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const post = (body: object, token?: string) =>
      token
        ? from2("GET", "/api/v1/whoami", { authorization: `Bearer ${token}` })
        : from2("POST", "/api/v1/auth/login", { "content-type": "application/json" }, JSON.stringify(body));
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await post({ email: owner.email, password: `guess-${i}` })).status);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses.slice(-2)).toEqual([429, 429]);
    const blocked = await post({}, owner.token);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    // Every door counts for the address: git over HTTP and the dashboard's sign-in too.
    const basic = `Basic ${Buffer.from(`git:${owner.token}`).toString("base64")}`;
    const git = await from2("GET", `/git/${app}.git/info/refs?service=git-upload-pack`, {
      authorization: basic,
    });
    expect(git.status).toBe(429);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const dashboard = await from2("POST", "/dashboard/login", form, `token=${owner.token}`);
    expect(dashboard.status).toBe(429);
    expect(Number(dashboard.retryAfter)).toBeGreaterThan(0);
    expect((await api(owner, "/whoami")).status).toBe(200);
  });

  it("removes a user only with their apps transferred, revoking their tokens", async () => {
    const refused = await as(admin, ["users:remove", owner.email]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/owns .*--transfer-to/);
    const removed = await as(admin, ["users:remove", owner.email, "--transfer-to", collab.email]);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await api(owner, "/whoami")).status).toBe(401);
    const access = JSON.parse((await as(collab, ["access", "-a", app, "--json"])).stdout);
    expect(access.owner).toBe(collab.email);
    const destroy = await as(stranger, ["apps:destroy", app, "--confirm", app]);
    expect(destroy.code).not.toBe(0);
    expect(await appNames(admin)).toContain(app);
  });
});
