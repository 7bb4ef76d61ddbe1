import crypto from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CronJob, cronJobId } from "../../src/app-json/cron-spec.js";
import { loadSettings } from "../../src/config.js";
import { connectDocker } from "../../src/docker/index.js";
import type { AppName } from "../../src/names.js";
import { CronScheduler } from "../../src/runtime/cron.js";
import { KEEP_FINISHED_MS, OneOffs } from "../../src/runtime/oneoff.js";
import { storeOver } from "../../src/store/index.js";
import { saveRelease } from "../../src/store/releases.js";
import { REDIS_URL, sweep } from "../helpers/platform.js";

// One-offs and the cron scheduler on the real dockerd and Redis, with the scheduler's clock
// injected: the concurrency policies, one run per (job, time) across two schedulers, and the
// reaper's rules for containers whose client or keeper is gone.

describe("one-offs and the cron scheduler", () => {
  const ns = `toc-${crypto.randomBytes(3).toString("hex")}`;
  const app = "cronapp" as AppName;
  const redis = new Redis(REDIS_URL);
  const store = storeOver(redis, ns);
  const docker = connectDocker();
  const settings = loadSettings({ PAAS_NAMESPACE: ns, PAAS_REDIS_URL: REDIS_URL, PAAS_STOP_TIMEOUT: "1" });
  const oneOffs = new OneOffs(settings, store, docker);
  const quiet = () => {};
  const minuteJob: CronJob = {
    id: cronJobId("* * * * *", "echo tick $DYNO"),
    command: "echo tick $DYNO",
    schedule: "* * * * *",
    concurrencyPolicy: "allow",
    maintenance: false,
  };
  const job = (policy: CronJob["concurrencyPolicy"]): CronJob => ({
    id: cronJobId(`${policy}`, "sleep 300"),
    command: "sleep 300",
    schedule: "* * * * *",
    concurrencyPolicy: policy,
    maintenance: false,
  });
  const running = async (jobId: string) => (await oneOffs.running(app, jobId)).map((c) => c.Id).sort();
  const all = async (label: string) => docker.containers.list({ label: [`paas.namespace=${ns}`, label] });
  async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 60; i++) {
      const v = await check();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  beforeAll(async () => {
    await store.apps.create(app);
    const r = await store.releases.create(app, {
      image: "paas/busybox:latest",
      commit: null,
      config: { GREETING: "hi" },
      processTypes: { web: "httpd -f -p $PORT" },
      port: 5000,
      description: "Deploy",
      user: "test",
      appJson: { healthchecks: {}, scripts: {}, cron: [minuteJob] } as never,
    });
    await saveRelease(store, app, { ...r, status: "succeeded" });
    await store.apps.setCurrentRelease(app, r.version);
  });

  afterAll(async () => {
    await sweep(ns);
    redis.disconnect();
  });

  it("runs each scheduled time once, on an injected clock, across two schedulers", async () => {
    let now = new Date("2030-01-01T12:00:30Z");
    const a = new CronScheduler(store, oneOffs, quiet, { now: () => now });
    const b = new CronScheduler(store, oneOffs, quiet, { now: () => now });
    for (const s of [a, b]) await s.refresh();
    // Just started: a time in the last minute that no one ran still runs, once.
    await Promise.all([a.tick(), b.tick()]);
    await a.tick();
    now = new Date("2030-01-01T12:01:05Z");
    await Promise.all([b.tick(), a.tick()]);
    const runs = await until("two finished runs", async () => {
      const list = await all(`paas.cron-job=${minuteJob.id}`);
      return list.length === 2 && list.every((c) => c.State === "exited") ? list : undefined;
    });
    expect(runs.map((c) => c.Labels["paas.cron-time"]).sort()).toEqual([
      "2030-01-01T12:00:00.000Z",
      "2030-01-01T12:01:00.000Z",
    ]);
    expect(runs.map((c) => c.Labels["paas.process"])).toEqual(["scheduler", "scheduler"]);
    const last = await until("the last result", async () => {
      const r = (await store.runs.lastResults(app))[minuteJob.id];
      return r?.outcome === "succeeded" && r.scheduledAt.startsWith("2030-01-01T12:01") ? r : undefined;
    });
    expect(last.exitCode).toBe(0);
    const lines = await docker.containers.logs(runs[0].Id);
    expect(lines[0]).toMatch(/^tick scheduler\.\d+$/);
  });

  it("allow runs alongside, forbid skips while one runs, replace stops the running one first", async () => {
    const s = new CronScheduler(store, oneOffs, quiet);
    const fire = (j: CronJob, iso: string) => void s.fire({ app, job: j }, new Date(iso)).catch(() => {});

    const allow = job("allow");
    fire(allow, "2030-01-02T00:00:00Z");
    fire(allow, "2030-01-02T00:01:00Z");
    fire(allow, "2030-01-02T00:01:00Z");
    await until("two allowed runs", async () => ((await running(allow.id)).length === 2 ? true : undefined));

    const forbid = job("forbid");
    fire(forbid, "2030-01-02T00:00:00Z");
    const [first] = await until("the forbid run", async () => {
      const r = await running(forbid.id);
      return r.length === 1 ? r : undefined;
    });
    fire(forbid, "2030-01-02T00:01:00Z");
    const skipped = await until("the skip", async () => {
      const r = (await store.runs.lastResults(app))[forbid.id];
      return r?.outcome === "skipped" ? r : undefined;
    });
    expect(skipped.message).toMatch(/previous run \(scheduler\.\d+\) was still running/);
    expect(await running(forbid.id)).toEqual([first]);

    const replace = job("replace");
    fire(replace, "2030-01-02T00:00:00Z");
    const [old] = await until("the replace run", async () => {
      const r = await running(replace.id);
      return r.length === 1 ? r : undefined;
    });
    fire(replace, "2030-01-02T00:01:00Z");
    await until("the new run to replace the old", async () => {
      const r = await running(replace.id);
      return r.length === 1 && r[0] !== old ? true : undefined;
    });
    expect(await docker.containers.inspect(old)).toBeNull();
  });

  it("reaps one-offs no one will remove, and keeps those still wanted", async () => {
    const held = await oneOffs.create(app, { command: "sleep 300", mode: "attached" });
    const orphan = await oneOffs.create(app, { command: "sleep 300", mode: "attached" });
    const detached = await oneOffs.create(app, { command: "echo done", mode: "detached" });
    for (const o of [held, orphan, detached]) await oneOffs.start(o);
    const unhold = oneOffs.hold(held);
    expect(await oneOffs.wait(detached)).toBe(0);

    // Two minutes on: the orphan's client is gone, the held one's is not; the detached
    // run's output is still being kept for paas logs.
    await oneOffs.reap(Date.now() + 120_000);
    expect(await docker.containers.inspect(orphan.id)).toBeNull();
    expect((await docker.containers.inspect(held.id))?.State.Running).toBe(true);
    expect(await docker.containers.inspect(detached.id)).not.toBeNull();

    unhold();
    await until("the session to end", async () =>
      (await store.runs.sessionAlive(held.id)) ? undefined : true,
    );
    await oneOffs.reap(Date.now() + KEEP_FINISHED_MS + 60_000);
    expect(await docker.containers.inspect(held.id)).toBeNull();
    expect(await docker.containers.inspect(detached.id)).toBeNull();
  });
});
