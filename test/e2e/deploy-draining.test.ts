import fsp from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, Platform, REDIS_URL } from "../helpers/platform.js";

// Issue 7, faster back-to-back deploys: old containers drain in the background (a Redis
// record with a deadline, not the app's lock), traffic moves as soon as the new containers
// answer, and the old ones stand by through the stay-up window to take traffic back when a
// new one dies there. Assertions are by ordering (what still exists when), not by time.

const DRAIN_SECONDS = 20;

describe("draining in the background, and the stay-up window after the switch", () => {
  const p = new Platform();
  const app = `drain-${Date.now().toString(36)}`;
  let repo = "";
  const redis = new Redis(REDIS_URL);

  const setVersion = async (mark: string, procfile?: string) => {
    await fsp.writeFile(path.join(repo, "www/index.html"), `hello ${mark}\n`);
    if (procfile) await fsp.writeFile(path.join(repo, "Procfile"), procfile);
    else await fsp.rm(path.join(repo, "Procfile"), { force: true });
    await p.git(["add", "-A"], repo);
    await p.git(["commit", "-qm", `version ${mark}`], repo);
  };
  const push = async () => {
    const r = await p.git(["push", "-f", "paas", "HEAD:main"], repo);
    return { code: r.code, out: r.stdout + r.stderr };
  };
  const webs = async () =>
    (await dockerContainers(p.ns, app, "app")).filter((c) => c.Labels["paas.process"] === "web");
  const eventually = async (fn: () => Promise<boolean>, attempts = 120, ms = 500) => {
    for (let i = 0; i < attempts; i++) {
      if (await fn()) return true;
      await new Promise((r) => setTimeout(r, ms));
    }
    return false;
  };

  beforeAll(async () => {
    await p.start({
      PAAS_DRAIN_SECONDS: String(DRAIN_SECONDS),
      PAAS_CHECK_UPTIME: "4",
      PAAS_RECONCILE_INTERVAL: "1",
    });
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    await setVersion("one");
    const first = await push();
    expect(first.code, first.out).toBe(0);
  });

  afterAll(async () => {
    redis.disconnect();
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("a second push goes live while the first push's old container is still draining", async () => {
    await setVersion("two");
    const second = await push();
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("Traffic moved to v2");
    expect(second.out).toMatch(/Draining 1 old container\(s\) for 20s \(in the background\)/);
    const afterSecond = await webs();
    const v1 = afterSecond.find((c) => c.Labels["paas.release"] === "v1");
    expect(v1?.State).toBe("running");
    expect(v1?.Names[0]).toContain("draining");

    await setVersion("three");
    const third = await push();
    expect(third.code, third.out).toBe(0);
    expect((await p.get(app)).body).toContain("hello three");
    // v3 is live and v1 (from the push before) has not been stopped yet: the third push
    // never waited for the second one's drain.
    const now = await webs();
    expect(now.find((c) => c.Id === v1!.Id)?.State).toBe("running");
    expect(now.find((c) => c.Labels["paas.release"] === "v2")?.Names[0]).toContain("draining");
    const current = now.filter((c) => c.Labels["paas.release"] === "v3");
    expect(current.map((c) => c.Names[0])).toEqual([`/${p.ns}.${app}.web.1`]);
    const records = await redis.hgetall(`${p.ns}:retiring:${app}`);
    expect(Object.keys(records).sort()).toEqual(
      now
        .filter((c) => c.Labels["paas.release"] !== "v3")
        .map((c) => c.Id)
        .sort(),
    );
    const ps = JSON.parse((await p.cli(["ps", "--json", "-a", app])).stdout) as {
      name: string;
      state: string;
    }[];
    expect(ps.filter((x) => x.state === "up").map((x) => x.name)).toEqual(["web.1"]);
    expect(ps.filter((x) => x.state === "draining")).toHaveLength(2);
  });

  it("draining containers survive reconcile passes and are removed after their deadline", async () => {
    const mark = p.output.length;
    // PAAS_RECONCILE_INTERVAL=1: wait for a pass that saw them, then check they are still there.
    const seen = await eventually(async () =>
      p.output.slice(mark).includes("reconcile left draining containers alone"),
    );
    expect(seen, p.output.slice(-3000)).toBe(true);
    const old = (await webs()).filter((c) => c.Labels["paas.release"] !== "v3");
    expect(old).toHaveLength(2);
    expect(old.every((c) => c.State === "running")).toBe(true);
    const gone = await eventually(async () => {
      const ids = new Set((await webs()).map((c) => c.Id));
      return old.every((c) => !ids.has(c.Id));
    });
    expect(gone, p.output.slice(-4000)).toBe(true);
    expect(await redis.hlen(`${p.ns}:retiring:${app}`)).toBe(0);
    expect((await webs()).map((c) => c.Labels["paas.release"])).toEqual(["v3"]);
    expect((await p.get(app)).body).toContain("hello three");
  });

  it("a release whose web dies inside the window is rejected, and the old one serves every request", async () => {
    // httpd daemonizes and answers; the process the container runs exits 1.5 s later.
    await setVersion("crashing", "web: httpd -p $PORT -h /www && sleep 1.5 && echo crashing now && exit 3\n");
    let stop = false;
    const statuses: Record<string, number> = {};
    const bodies = new Set<string>();
    const load = (async () => {
      while (!stop) {
        try {
          const r = await p.get(app);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          bodies.add(r.body.trim());
        } catch (err) {
          statuses[`error ${(err as Error).message}`] =
            (statuses[`error ${(err as Error).message}`] ?? 0) + 1;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const res = await push();
    // Keep the load on a little after the verdict: the route went back before it.
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await load;

    expect(res.code, res.out).not.toBe(0);
    expect(res.out).toContain("Traffic moved to v4");
    expect(res.out).toMatch(/web\.1 stopped within 4s: traffic is back on the previous containers/);
    expect(res.out).toContain("crashing now");
    // Every request got an answer from the app: the old container took the new one's
    // traffic back the moment it died (the router's standby), then the route went back.
    expect(Object.keys(statuses)).toEqual(["200"]);
    expect(statuses["200"]).toBeGreaterThan(20);
    expect([...bodies].every((b) => b === "hello three" || b === "hello crashing")).toBe(true);
    expect(bodies.has("hello crashing")).toBe(true);
    expect((await p.get(app)).body).toContain("hello three");

    const releases = JSON.parse((await p.cli(["releases", "--json", "-a", app])).stdout) as {
      version: string;
      status: string;
      current?: boolean;
    }[];
    const v4 = releases.find((r) => r.version === "v4");
    expect(v4?.status).toBe("failed");
    expect(releases.find((r) => r.current)?.version).toBe("v3");
    const left = await webs();
    expect(left.map((c) => `${c.Labels["paas.release"]}:${c.State}`)).toEqual(["v3:running"]);
    expect(await redis.hlen(`${p.ns}:retiring:${app}`)).toBe(0);
  });
  it("a drain still ends after a platform restart: the record outlives the process", async () => {
    await setVersion("five");
    const res = await push();
    expect(res.code, res.out).toBe(0);
    expect(res.out).toContain("Released v5");
    const old = (await webs()).filter((c) => c.Labels["paas.release"] !== "v5");
    expect(old.map((c) => `${c.Labels["paas.release"]}:${c.State}`)).toEqual(["v3:running"]);
    await p.restart();
    // The new process found the record: the container is still draining, not removed at once
    // as an old release's container would be, and it goes at its deadline.
    expect((await webs()).some((c) => c.Id === old[0].Id)).toBe(true);
    const gone = await eventually(async () => !(await webs()).some((c) => c.Id === old[0].Id));
    expect(gone, p.output.slice(-4000)).toBe(true);
    expect(await redis.hlen(`${p.ns}:retiring:${app}`)).toBe(0);
    expect((await webs()).map((c) => c.Labels["paas.release"])).toEqual(["v5"]);
    expect((await p.get(app)).body).toContain("hello five");
  });
});
