import fsp from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform, REDIS_URL, ROOT, sh } from "../helpers/platform.js";

// What a new user ran into (QA): figures missing from `paas ps` for every container a deploy
// or restart started, a detached one-off's output twice in `paas logs`, and `paas run` on a
// terminal that reports no size (`script ... /dev/null`) refused outright.

interface Proc {
  name: string;
  state: string;
  memoryBytes?: number;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  tries = 120,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("a new user's first app", () => {
  const p = new Platform();
  const app = `qa-${Date.now().toString(36)}`;
  let repo = "";

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await p.cli(["apps:destroy", app, "--confirm", app]);
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  const upWithFigures = async () => {
    const res = await p.cli(["ps", "--json", "-a", app]);
    const list = JSON.parse(res.stdout) as Proc[];
    const up = list.filter((x) => x.state === "up");
    return up.length > 0 && up.every((x) => typeof x.memoryBytes === "number") ? up : null;
  };

  it("ps shows CPU and memory for the containers a deploy started (renamed into their slot)", async () => {
    const up = await until("figures for every running container after the push", upWithFigures);
    expect(up.map((x) => x.name)).toEqual(["web.1"]);
  });

  it("and for the ones a restart started", async () => {
    const res = await p.cli(["ps:restart", "-a", app]);
    expect(res.code, res.stderr).toBe(0);
    await until("figures after ps:restart", upWithFigures);
  });

  it("a detached one-off's output is in the logs once", async () => {
    // Several at once: the repeat came when a one-off ended before its start event was handled.
    const marker = `detached-${Date.now().toString(36)}`;
    const runs = await Promise.all(
      [1, 2, 3].map(() => p.cli(["run", "--detach", "-a", app, "--", "echo", marker])),
    );
    for (const res of runs) expect(res.code, res.stderr).toBe(0);
    const dynos = runs.map((r) => r.stdout.trim());
    const lines = await until("the one-offs' exits in the logs", async () => {
      const logs = await p.cli(["logs", "-n", "500", "-a", app]);
      const done = dynos.every((d) => logs.stdout.includes(`paas[${d}]: Process exited with status 0`));
      return done ? logs.stdout.split("\n") : null;
    });
    for (const d of dynos)
      expect(
        lines.filter((l) => l.endsWith(`app[${d}]: ${marker}`)),
        d,
      ).toHaveLength(1);
  });

  it("and still once after a platform restart (the collector resumes past a finished one-off)", async () => {
    const marker = `restart-${Date.now().toString(36)}`;
    const logs = async () => (await p.cli(["logs", "-n", "1000", "-a", app])).stdout;
    const exited = (dyno: string) => async () =>
      (await logs()).includes(`paas[${dyno}]: Process exited with status 0`);
    // Several: a repeat came for the one-offs whose last line Docker stamped in the same
    // millisecond as it was read (about 1 in 20 on this box).
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => p.cli(["run", "--detach", "-a", app, "--", "echo", marker])),
    );
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      await until("the one-off's exit in the logs", exited(run.stdout.trim()));
    }
    await p.restart();
    // The restarted collector goes over the kept containers when it starts: once a one-off run
    // after the restart is in the logs, a repeat of the first would be there too.
    const after = await p.cli(["run", "--detach", "-a", app, "--", "echo", "after-restart"]);
    expect(after.code, after.stderr).toBe(0);
    await until("a one-off after the restart in the logs", exited(after.stdout.trim()));
    expect((await logs()).split("\n").filter((l) => l.endsWith(`]: ${marker}`))).toHaveLength(8);
  });

  it("paas run works on a terminal that reports no size", async () => {
    const cli = path.join(ROOT, "dist/cli/main.js");
    const cmd = `${JSON.stringify(process.execPath)} ${cli} run -a ${app} -- sh -c 'test -t 0 && echo on-a-tty; exit 4'`;
    const res = await sh("script", ["-qefc", cmd, "/dev/null"], { env: p.env(), cwd: repo });
    expect(res.stdout + res.stderr).not.toMatch(/cols must be/);
    expect(res.stdout).toContain("on-a-tty");
    expect(res.code).toBe(4);
  });

  it("an app created again under a destroyed app's name starts clean (no old logs or limits)", async () => {
    const again = `${app}-again`;
    expect((await p.cli(["apps:create", again])).code).toBe(0);
    const set = await p.cli(["resources:set", "--memory", "256m", "web", "-a", again]);
    expect(set.code, set.stderr).toBe(0);
    const destroyed = await p.cli(["apps:destroy", again, "--confirm", again]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect((await p.cli(["apps:create", again])).code).toBe(0);
    const logs = await p.cli(["logs", "-a", again]);
    expect(logs.stdout).not.toMatch(/DELETE \/apps\/:app|resources/);
    const limits = await p.cli(["resources", "-a", again, "--json"]);
    expect(limits.stdout).not.toContain("256");
    await p.cli(["apps:destroy", again, "--confirm", again]);
  });

  it("a destroyed app leaves no key in Redis, and its stopping containers' lines do not come back", async () => {
    // The app runs (web.1): its containers say "Stopping" and "Process exited" as they go,
    // after the destroy has deleted the app's stream.
    const destroyed = await p.cli(["apps:destroy", app, "--confirm", app]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const redis = new Redis(REDIS_URL);
    try {
      const keysOf = async () => {
        const found: string[] = [];
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${p.ns}:*${app}*`, "COUNT", 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== "0");
        return found.sort();
      };
      // Bounded: the destroy job's own bookkeeping ends just after the API answered.
      let left: string[] = [];
      for (let i = 0; i < 20; i++) {
        left = await keysOf();
        if (left.length === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(left).toEqual([]);
      // Late lines of the collector (it follows containers until they are gone) must not
      // start the stream again either: give them a moment, then look once more.
      await new Promise((r) => setTimeout(r, 2000));
      expect(await keysOf()).toEqual([]);
    } finally {
      redis.disconnect();
    }
    expect((await p.cli(["apps:create", app])).code).toBe(0);
    const logs = await p.cli(["logs", "-n", "500", "-a", app]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).not.toMatch(/Stopping|Process exited|web\.1/);
  });
});
