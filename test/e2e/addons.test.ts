import { spawn } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform, ROOT } from "../helpers/platform.js";

// Issue 11 end to end: a Node app using the `pg` package gets a postgres add-on, writes a
// row and reads it back through the router; the row survives a redeploy, a platform
// restart and a `docker restart` of the service; a backup and restore round trip; a redis
// add-on reachable from the same app.

const docker = new Docker();

describe("postgres and redis add-ons", () => {
  const p = new Platform();
  const temps: string[] = [];
  const app = `pgapp-${Date.now().toString(36)}`;
  let repo = "";
  let pg = "";

  beforeAll(async () => {
    // Reconcile brings a removed service container back within one pass: a short one here.
    await p.start({ PAAS_RECONCILE_INTERVAL: "5" });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    repo = await p.fixtureRepo("addons-pg");
    temps.push(repo);
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const t of temps) await fsp.rm(t, { recursive: true, force: true });
  });

  /** GET through the router until it answers `want` (bounded: the app or its database may be restarting). */
  async function getUntil(
    urlPath: string,
    want: (body: string, status: number) => boolean,
    tries = 60,
    host = app,
  ) {
    let last = { status: 0, body: "" };
    for (let i = 0; i < tries; i++) {
      last = await p.get(host, urlPath).catch((e) => ({ status: 0, body: String(e), headers: {} }));
      if (want(last.body, last.status)) return last;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`GET ${urlPath}: last answer ${last.status} ${last.body}`);
  }

  /** The CLI with `input` on its stdin (then closed), as a user pipes SQL into psql. */
  function withStdin(
    args: string[],
    input: string,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], {
        cwd: p.home,
        env: p.env(),
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  const rows = async () => JSON.parse((await getUntil("/rows", (_b, s) => s === 200)).body) as string[];

  async function push() {
    const r = await p.git(["push", "-f", "paas", "HEAD:main"], repo);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.stdout + r.stderr;
  }

  it("creates a postgres add-on, sets DATABASE_URL as a release, and the app writes and reads a row", async () => {
    const created = await p.cli(["addons:create", "postgres", "-a", app]);
    expect(created.code, created.stderr).toBe(0);
    pg = /Created (postgres-[0-9a-f]+) as DATABASE_URL/.exec(created.stdout)?.[1] ?? "";
    expect(pg, created.stdout).not.toBe("");

    const cfg = JSON.parse((await p.cli(["config", "--json", "-a", app])).stdout) as Record<string, string>;
    expect(cfg.DATABASE_URL).toMatch(
      new RegExp(`^postgres://u[0-9a-f]+:[^@]+@${pg}\\.${app}\\.internal:5432/d[0-9a-f]+$`),
    );

    // The service publishes nothing on the host and sits on its own internal network.
    const info = await docker.getContainer(`${p.ns}-addon-${pg}`).inspect();
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(info.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`${p.ns}-addon-${pg}`]);

    await push();
    expect((await getUntil("/write?value=first", (b) => b.startsWith("wrote"))).body).toBe("wrote 1\n");
    expect(await rows()).toEqual(["first"]);

    const list = await p.cli(["addons", "-a", app]);
    expect(list.stdout).toContain(pg);
    expect(list.stdout).toContain(`${app} as DATABASE_URL`);
    // The columns line up: each header starts where its column's values do.
    const [head, row] = list.stdout.split("\n");
    expect(row.indexOf(" postgres ") + 1).toBe(head.indexOf("Service"));
    expect(row.indexOf(`${app} as DATABASE_URL`)).toBe(head.indexOf("Attached to"));
    // paas ps lists the app's add-ons under its processes (ps-report), with the state a
    // worker recorded (the API has no Docker).
    const ps = await p.cli(["ps", "-a", app]);
    expect(ps.stdout).toContain(`${pg} (postgres) as DATABASE_URL: running`);
  });

  it("keeps the row across a redeploy", async () => {
    await p.git(["commit", "-q", "--allow-empty", "-m", "redeploy"], repo);
    await push();
    expect(await rows()).toEqual(["first"]);
  });

  it("keeps the row across a platform restart", async () => {
    await p.restart();
    expect(await rows()).toEqual(["first"]);
  });

  it("keeps the row across a docker restart of the service", async () => {
    await docker.getContainer(`${p.ns}-addon-${pg}`).restart({ t: 5 });
    expect(await rows()).toEqual(["first"]);
  });

  it("brings back a removed service container with its data (reconcile)", async () => {
    await docker.getContainer(`${p.ns}-addon-${pg}`).remove({ force: true });
    expect(await rows()).toEqual(["first"]);
    expect((await docker.getContainer(`${p.ns}-addon-${pg}`).inspect()).State.Running).toBe(true);
  });

  it("captures a backup, downloads it, and restores it over later writes", async () => {
    const cap = await p.cli(["pg:backups:capture", "-a", app]);
    expect(cap.code, cap.stderr).toBe(0);
    expect(cap.stdout).toMatch(/Backup b001 of postgres-[0-9a-f]+ captured/);
    const list = await p.cli(["pg:backups", "-a", app]);
    expect(list.stdout).toContain("b001");

    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-pgdump-"));
    temps.push(dir);
    const file = path.join(dir, "b001.dump");
    const dl = await p.cli(["pg:backups:download", "b001", "-a", app, "-o", file]);
    expect(dl.code, dl.stderr).toBe(0);
    expect((await fsp.readFile(file)).subarray(0, 5).toString()).toBe("PGDMP");

    await getUntil("/write?value=second", (b) => b.startsWith("wrote"));
    expect(await rows()).toEqual(["first", "second"]);

    const refused = await p.cli(["pg:backups:restore", "b001", "-a", app]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`--confirm ${app}`);

    const restored = await p.cli(["pg:backups:restore", "b001", "-a", app, "--confirm", app]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await rows()).toEqual(["first"]);

    const sql = await p.cli(["pg:psql", "-a", app, "--command", "select count(*) as n from notes"]);
    expect(sql.code, sql.stderr).toBe(0);
    expect(sql.stdout).toMatch(/\n\s+1\n/);
  });

  it("pg:psql without SQL is a psql session in a one-off of the postgres image", async () => {
    const session = await withStdin(["pg:psql", "-a", app], "select value from notes;\n\\q\n");
    expect(session.code, session.stderr).toBe(0);
    expect(session.stdout).toMatch(/value\s*\n-+\n\s*first\n\(1 row\)/);
  });

  it("a redis add-on is reachable from the app", async () => {
    const created = await p.cli(["addons:create", "redis", "-a", app]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Created redis-[0-9a-f]+ as REDIS_URL/);
    expect((await getUntil("/redis", (b) => b.includes("PONG"))).body).toBe("+OK +PONG\n");
    // A deployed app gets the URL as a new release, as config:set makes one.
    const releases = await p.cli(["releases", "--json", "-a", app]);
    const descriptions = (JSON.parse(releases.stdout) as { description: string }[]).map((r) => r.description);
    expect(descriptions).toContain("Set REDIS_URL (addons:create)");
    const ping = await p.cli(["redis:cli", "PING", "-a", app]);
    expect(ping.stdout.trim()).toBe("PONG");
  });

  it("attaches the same database to a second app, which reads the row by its own name; detach unsets it", async () => {
    const other = `${app}-b`;
    const repo2 = await p.fixtureRepo("addons-pg");
    temps.push(repo2);
    expect((await p.cli(["apps:create", other], { cwd: repo2 })).code).toBe(0);
    const attached = await p.cli(["addons:attach", pg, "-a", other]);
    expect(attached.code, attached.stderr).toBe(0);
    const cfg = JSON.parse((await p.cli(["config", "--json", "-a", other])).stdout) as Record<string, string>;
    expect(cfg.DATABASE_URL).toContain(`@${pg}.${other}.internal:5432/`);
    const pushed = await p.git(["push", "-f", "paas", "HEAD:main"], repo2);
    expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0);
    const read = await getUntil("/rows", (_b, s) => s === 200, 60, other);
    expect(JSON.parse(read.body)).toEqual(["first"]);

    const detached = await p.cli(["addons:detach", pg, "-a", other]);
    expect(detached.code, detached.stderr).toBe(0);
    const after = JSON.parse((await p.cli(["config", "--json", "-a", other])).stdout) as Record<
      string,
      string
    >;
    expect(after.DATABASE_URL).toBeUndefined();
    expect((await p.cli(["apps:destroy", other, "--confirm", other])).code).toBe(0);
  });

  it("a bad add-on request is a clear 4xx, not a crash", async () => {
    const bad = await p.cli(["addons:create", "mysql", "-a", app]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown add-on service "mysql": use postgres or redis');
    const missing = await p.cli(["addons:info", "postgres-nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('add-on "postgres-nope" does not exist');
  });

  it("destroy asks for confirmation; destroying the app keeps its add-ons' data", async () => {
    const refused = await p.cli(["addons:destroy", pg]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`--confirm ${pg}`);

    const gone = await p.cli(["apps:destroy", app, "--confirm", app]);
    expect(gone.code, gone.stderr).toBe(0);
    const info = await p.cli(["addons:info", pg]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain("none (the data is kept)");
    expect((await docker.getVolume(`${p.ns}-addon-${pg}-data`).inspect()).Name).toBe(
      `${p.ns}-addon-${pg}-data`,
    );

    const destroyed = await p.cli(["addons:destroy", pg, "--confirm", pg]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    await expect(docker.getVolume(`${p.ns}-addon-${pg}-data`).inspect()).rejects.toThrow();
  });
});
