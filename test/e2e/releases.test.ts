import fsp from "node:fs/promises";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, Platform } from "../helpers/platform.js";

// Issue 4 end to end: releases and rollback, formation, health checks, release phase,
// crash restarts, reconcile, serialized operations, and a config change under load.

describe("releases, formation and zero-downtime deploys", () => {
  const p = new Platform();
  const app = `rel-${Date.now().toString(36)}`;
  let repo = "";

  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${p.apiUrl}/api/v1/apps/${app}${route}`, {
      method,
      headers: { authorization: `Bearer ${p.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      json: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text,
    };
  };
  const setVersion = async (mark: string) => {
    await fsp.writeFile(path.join(repo, "www/index.html"), `hello ${mark}\n`);
    await p.git(["add", "-A"], repo);
    await p.git(["commit", "-qm", `version ${mark}`], repo);
  };
  const push = async () => {
    const r = await p.git(["push", "-f", "paas", "HEAD:main"], repo);
    return { code: r.code, out: r.stdout + r.stderr };
  };
  /** Poll (bounded) until fn returns true. */
  const eventually = async (fn: () => Promise<boolean>, attempts = 60, ms = 1000) => {
    for (let i = 0; i < attempts; i++) {
      if (await fn()) return true;
      await new Promise((r) => setTimeout(r, ms));
    }
    return false;
  };

  beforeAll(async () => {
    await p.start({ PAAS_RECONCILE_INTERVAL: "5" });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("rolls back to v1's content and config", async () => {
    await setVersion("one");
    expect((await push()).code).toBe(0);
    expect((await p.cli(["config:set", "GREETING=first"], { cwd: repo })).code).toBe(0); // v2
    await setVersion("two");
    expect((await push()).code).toBe(0); // v3
    expect((await p.cli(["config:set", "GREETING=second"], { cwd: repo })).code).toBe(0); // v4
    expect((await p.get(app)).body).toContain("hello two");

    const rb = await api("POST", "/releases/rollback", { version: "v2" });
    expect(rb.status, JSON.stringify(rb.json)).toBe(200);
    expect(rb.json.version).toBe("v5");
    expect((await p.get(app)).body).toContain("hello one");
    expect((await p.get(app, "/cgi-bin/env")).body).toContain("greeting=first");
    const list = await api("GET", "/releases");
    expect(
      list.json.map((r: { version: string; description: string }) => `${r.version} ${r.description}`),
    ).toEqual([
      "v5 Rollback to v2",
      "v4 Set GREETING config var",
      expect.stringMatching(/^v3 Deploy [0-9a-f]{7}$/),
      "v3 Set GREETING config var".replace("v3", "v2"),
      expect.stringMatching(/^v1 Deploy [0-9a-f]{7}$/),
    ]);
    const info = await api("GET", "/releases/v5");
    expect(info.json.configKeys).toEqual(["GREETING"]);
    expect(info.json.current).toBe(true);
    const output = await api("GET", "/releases/v3/output");
    expect(output.json).toContain("Building");
  });

  it("scales web to 3, spreads requests over them, and back to 1", async () => {
    const up = await api("PATCH", "/formation", { web: "3" });
    expect(up.status, JSON.stringify(up.json)).toBe(200);
    expect(up.json.formation).toEqual({ web: 3 });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const body = (await p.get(app, "/cgi-bin/env")).body;
      const m = /dyno=(web\.\d)/.exec(body);
      if (m) seen.add(m[1]);
    }
    expect([...seen].sort()).toEqual(["web.1", "web.2", "web.3"]);
    const bad = await api("PATCH", "/formation", { worker: "1" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('no "worker" process type');
    const down = await api("PATCH", "/formation", { web: "-2" });
    expect(down.json.formation).toEqual({ web: 1 });
    // web.2 and web.3 left the route at once and drain in the background (PAAS_DRAIN_SECONDS).
    expect((await p.get(app, "/cgi-bin/env")).body).toContain("dyno=web.1");
    expect(
      await eventually(async () => (await dockerContainers(p.ns, app, "app")).length === 1, 30, 500),
    ).toBe(true);
  });

  it("web=0 stops routing (503), web=1 serves again", async () => {
    await api("PATCH", "/formation", { web: "0" });
    expect((await p.get(app)).status).toBe(503);
    await api("PATCH", "/formation", { web: "1" });
    expect((await p.get(app)).status).toBe(200);
  });

  it("a failing HTTP health check rejects the push and keeps the old release serving", async () => {
    const before = (await p.get(app)).body;
    await fsp.writeFile(
      path.join(repo, "app.json"),
      JSON.stringify({ healthchecks: { web: [{ path: "/ready", attempts: 2, wait: 1, timeout: 2 }] } }),
    );
    await setVersion("unhealthy");
    const r = await push();
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain("[remote rejected]");
    expect(r.out).toContain("GET /ready -> status 404");
    expect((await p.get(app)).body).toBe(before);
    const list = await api("GET", "/releases?num=1");
    expect(list.json[0].status).toBe("failed");
    await fsp.rm(path.join(repo, "app.json"));
  });

  it("a failing release phase aborts the release", async () => {
    const before = (await p.get(app)).body;
    await fsp.writeFile(path.join(repo, "Procfile"), "release: echo migrating the database; exit 4\n");
    await setVersion("bad-release");
    const r = await push();
    expect(r.code).not.toBe(0);
    // Streamed once, not repeated under the failure.
    const printed = r.out
      .split("\n")
      .filter((l) => l.replace(/^remote:/, "").trim() === "migrating the database");
    expect(printed).toHaveLength(1);
    expect(r.out).toContain("release command failed with exit code 4");
    expect((await p.get(app)).body).toBe(before);
    await fsp.rm(path.join(repo, "Procfile"));
    await setVersion("three");
    expect((await push()).code).toBe(0);
    expect((await p.get(app)).body).toContain("hello three");
  });

  it("restarts a crashed container and shows the crash", async () => {
    await p.get(app, "/cgi-bin/crash").catch(() => null);
    const restarted = await eventually(async () => {
      const ps = JSON.parse((await p.cli(["ps", "--json"], { cwd: repo })).stdout) as {
        state: string;
        restarts: number;
      }[];
      return ps.length === 1 && ps[0].restarts >= 1 && ps[0].state === "up";
    });
    expect(restarted).toBe(true);
    expect(await eventually(async () => (await p.get(app)).status === 200)).toBe(true);
  });

  it("reconcile undoes a docker rm -f of an app container", async () => {
    const [c] = await dockerContainers(p.ns, app, "app");
    await new Docker().getContainer(c.Id).remove({ force: true });
    const back = await eventually(async () => {
      const list = await dockerContainers(p.ns, app, "app");
      return list.length === 1 && list[0].Id !== c.Id && list[0].State === "running";
    });
    expect(back).toBe(true);
    expect(await eventually(async () => (await p.get(app)).status === 200)).toBe(true);
  });

  it("a concurrent scale and deploy end consistent", async () => {
    await setVersion("four");
    const [scale, pushed] = await Promise.all([api("PATCH", "/formation", { web: "2" }), push()]);
    expect(scale.status, JSON.stringify(scale.json)).toBe(200);
    expect(pushed.code, pushed.out).toBe(0);
    const info = await api("GET", "/releases/current");
    const formation = (await api("GET", "/formation")).json;
    expect(formation).toEqual({ web: 2 });
    // The push returns once the release is live; the old containers then drain and go.
    const consistent = await eventually(async () => {
      const list = await dockerContainers(p.ns, app, "app");
      return (
        list.length === 2 &&
        list.every((c) => c.Labels["paas.release"] === info.json.version && c.State === "running") &&
        list
          .map((c) => c.Labels["paas.instance"])
          .sort()
          .join() === "1,2"
      );
    }, 30);
    expect(consistent).toBe(true);
  });

  it("a config change under load drops nothing", async () => {
    let stop = false;
    let total = 0;
    const failures: string[] = [];
    const loop = async () => {
      // Bounded: at most 2000 requests per loop, and it ends when the change is done.
      for (let i = 0; i < 2000 && !stop; i++) {
        total++;
        try {
          const r = await p.get(app);
          if (r.status !== 200) failures.push(String(r.status));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    const set = await p.cli(["config:set", "UNDER_LOAD=yes"], { cwd: repo });
    // Keep the load on until the old container has drained and stopped, too.
    const retired = await eventually(async () => (await dockerContainers(p.ns, app, "app")).length === 2, 30);
    stop = true;
    await Promise.all(loops);
    expect(set.code, set.stderr).toBe(0);
    expect(retired).toBe(true);
    expect(total).toBeGreaterThan(10);
    expect(failures).toEqual([]);
  });
});
