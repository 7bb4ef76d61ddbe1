import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobData } from "../../src/builder/jobs.js";
import { BuildQueue } from "../../src/builder/queue.js";
import { type JobRunner, startBuildWorker, type WorkerHandle } from "../../src/builder/worker.js";
import { loadSettings } from "../../src/config.js";
import { BuildFailed } from "../../src/errors.js";
import { type BuildLogEntry, type Store, storeOver } from "../../src/store/index.js";

// The build queue on a real Redis with real bullmq workers: per-app ordering, parallelism
// across apps, log streaming to the follower, and a worker that dies in the middle of a job.
// The job runner is a plain test function: the queue is a seam.

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";
const ROOT = path.resolve(import.meta.dirname, "../..");
const HANGING_WORKER = path.join(ROOT, "test/fixtures/queue/hanging-worker.mjs");
const noLog = () => {};

/** Rejects when a promise takes longer than ms: a guard against hangs, not a performance check. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 50));
    })(),
    ms,
    what,
  );
}

const randomNs = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

function settingsFor(ns: string) {
  return loadSettings({
    PAAS_NAMESPACE: ns,
    PAAS_REDIS_URL: REDIS_URL,
    PAAS_BUILD_CONCURRENCY: "2",
    PAAS_BUILD_CA_BUNDLE: "none",
    PAAS_DATA_DIR: "/tmp/paas-build-queue-test",
  });
}

async function deleteNamespace(redis: Redis, ns: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${ns}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

const releaseJob = (app: string, description: string) =>
  ({ kind: "release", app, description, user: "test" }) as const;

/** Follow a build to its end, collecting every entry. */
async function followAll(queue: BuildQueue, id: string): Promise<BuildLogEntry[]> {
  const entries: BuildLogEntry[] = [];
  await queue.follow(id, (e) => entries.push(e));
  return entries;
}

const description = (job: JobData) =>
  job.kind === "release"
    ? job.description
    : job.kind === "build"
      ? job.commit
      : job.kind === "rollback"
        ? `rollback ${job.target}`
        : job.kind === "operation"
          ? job.operation.op
          : job.kind;

describe("build queue", () => {
  const ns = randomNs("tq");
  const settings = settingsFor(ns);
  let redis: Redis;
  let store: Store;
  let queue: BuildQueue;
  let worker: WorkerHandle;
  // Each test registers the runner for its own apps.
  const runners = new Map<string, JobRunner>();

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    store = storeOver(redis, ns);
    queue = new BuildQueue(store, REDIS_URL);
    worker = startBuildWorker(
      {
        settings,
        store,
        run: (job, emit, announce) => {
          const run = runners.get(job.app);
          if (!run) throw new Error(`no runner for ${job.app}`);
          return run(job, emit, announce);
        },
      },
      noLog,
    );
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    if (redis) {
      await deleteNamespace(redis, ns);
      redis.disconnect();
    }
  });

  it("runs the builds of one app one at a time, in enqueue order, even with concurrency 2", async () => {
    const app = "order-app";
    const events: string[] = [];
    let active = 0;
    let maxActive = 0;
    const ids: string[] = [];
    runners.set(app, async (job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      events.push(`start ${description(job)}`);
      if (description(job) === "one") {
        // Hold the first build until bullmq has handed the second one to the worker too
        // (concurrency 2): it is put back as delayed, and must not start before this one ends.
        await until(
          async () => ["active", "delayed"].includes(await queue.queue.getJobState(ids[1])),
          20_000,
          "second job active",
        );
        await new Promise((r) => setTimeout(r, 300));
      }
      events.push(`end ${description(job)}`);
      active--;
      return `http://${app}.example`;
    });
    for (const d of ["one", "two", "three"]) ids.push(await queue.enqueue(releaseJob(app, d)));
    const ends = await within(
      Promise.all(ids.map((id) => queue.follow(id, () => {}))),
      60_000,
      "three builds of one app",
    );
    expect(ends.map((e) => e.type === "end" && e.ok)).toEqual([true, true, true]);
    expect(maxActive).toBe(1);
    expect(events).toEqual(["start one", "end one", "start two", "end two", "start three", "end three"]);
    const records = await Promise.all(ids.map((id) => store.builds.get(id)));
    expect(records.map((r) => [r?.seq, r?.status])).toEqual([
      [1, "succeeded"],
      [2, "succeeded"],
      [3, "succeeded"],
    ]);
  });

  it("runs builds of different apps in parallel", async () => {
    const started = new Set<string>();
    const barrier = async (job: JobData) => {
      started.add(job.app);
      // Opens only when both apps' builds are running at the same time.
      await until(() => started.size === 2, 20_000, `${job.app} waiting for the other app's build`);
      return `http://${job.app}.example`;
    };
    runners.set("par-a", barrier);
    runners.set("par-b", barrier);
    const a = await queue.enqueue(releaseJob("par-a", "a"));
    const b = await queue.enqueue(releaseJob("par-b", "b"));
    const [endA, endB] = await within(
      Promise.all([queue.follow(a, () => {}), queue.follow(b, () => {})]),
      60_000,
      "two apps' builds",
    );
    expect(endA).toMatchObject({ type: "end", ok: true, url: "http://par-a.example" });
    expect(endB).toMatchObject({ type: "end", ok: true, url: "http://par-b.example" });
  });

  it("a queue of one app's builds does not hold up another app's build", async () => {
    let bStarted = false;
    runners.set("busy-a", async (job) => {
      // The first of app A's builds runs until app B's build has started beside it.
      if (description(job) === "a1") await until(() => bStarted, 20_000, "app B's build to start");
      return "http://busy-a.example";
    });
    runners.set("busy-b", async () => {
      bStarted = true;
      return "http://busy-b.example";
    });
    const ids: string[] = [];
    for (const d of ["a1", "a2", "a3"]) ids.push(await queue.enqueue(releaseJob("busy-a", d)));
    ids.push(await queue.enqueue(releaseJob("busy-b", "b")));
    const ends = await within(
      Promise.all(ids.map((id) => queue.follow(id, () => {}))),
      60_000,
      "A's and B's builds",
    );
    expect(ends.map((e) => e.type === "end" && e.ok)).toEqual([true, true, true, true]);
  });

  it("streams a build's lines to the follower, then the end with the URL", async () => {
    const app = "stream-app";
    runners.set(app, async (_job, emit) => {
      emit("-----> Building");
      emit("step 1");
      await new Promise((r) => setTimeout(r, 100));
      emit("step 2");
      return "http://stream-app.paas.test";
    });
    const id = await queue.enqueue(releaseJob(app, "x"));
    const entries = await within(followAll(queue, id), 30_000, "follow");
    expect(entries).toEqual([
      { type: "line", text: "-----> Building" },
      { type: "line", text: "step 1" },
      { type: "line", text: "step 2" },
      { type: "end", ok: true, message: "deployed", url: "http://stream-app.paas.test" },
    ]);
    expect(await store.builds.lines(id)).toEqual(["-----> Building", "step 1", "step 2"]);
    expect(await store.builds.get(id)).toMatchObject({
      status: "succeeded",
      url: "http://stream-app.paas.test",
    });
  });

  it("ends a build whose runner throws with ok:false and the message, and runs the app's next build", async () => {
    const app = "fail-app";
    const ran: string[] = [];
    runners.set(app, async (job, emit) => {
      ran.push(description(job));
      if (description(job) === "bad") {
        emit("about to fail");
        throw new BuildFailed("Dockerfile step 2 failed with exit code 1", ["last stderr: nope"]);
      }
      return "http://fail-app.example";
    });
    const bad = await queue.enqueue(releaseJob(app, "bad"));
    const good = await queue.enqueue(releaseJob(app, "good"));
    const badEntries = await within(followAll(queue, bad), 30_000, "failing build");
    expect(badEntries).toEqual([
      { type: "line", text: "about to fail" },
      { type: "line", text: "last stderr: nope" },
      { type: "end", ok: false, message: "Dockerfile step 2 failed with exit code 1", code: "build_failed" },
    ]);
    expect(await store.builds.get(bad)).toMatchObject({
      status: "failed",
      error: "Dockerfile step 2 failed with exit code 1",
    });
    const goodEnd = await within(
      queue.follow(good, () => {}),
      30_000,
      "next build",
    );
    expect(goodEnd).toMatchObject({ type: "end", ok: true, url: "http://fail-app.example" });
    // A user's mistake is not retried.
    expect(ran).toEqual(["bad", "good"]);
    expect(await queue.queue.getJobState(bad)).toBe("failed");
  });
});

describe("build queue with a worker that dies mid-job", () => {
  const ns = randomNs("tqd");
  const settings = settingsFor(ns);
  let redis: Redis;
  let store: Store;
  let queue: BuildQueue;
  let child: ChildProcess | null = null;
  let rescuer: WorkerHandle | null = null;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, "dist/builder/worker.js"))) {
      throw new Error("dist/ is missing: run `npm run build` first");
    }
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    store = storeOver(redis, ns);
    queue = new BuildQueue(store, REDIS_URL);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rescuer?.close();
    await queue?.close();
    if (redis) {
      await deleteNamespace(redis, ns);
      redis.disconnect();
    }
  });

  it("fails the build within a bounded time, tells the follower, and runs the app's next build", async () => {
    const app = "dies-app";
    // A worker in another process takes the build and hangs in it.
    const proc = spawn(process.execPath, [HANGING_WORKER], {
      env: {
        ...process.env,
        PAAS_NAMESPACE: ns,
        PAAS_REDIS_URL: REDIS_URL,
        LOCK_DURATION_MS: "2000",
        STALLED_INTERVAL_MS: "500",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let out = "";
    proc.stdout!.on("data", (d) => {
      out += d;
    });
    proc.stderr!.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
    await until(() => out.includes("ready") || proc.exitCode !== null, 30_000, "hanging worker start");
    expect(out).toContain("ready");

    const first = await queue.enqueue(releaseJob(app, "first"));
    const firstEntries: BuildLogEntry[] = [];
    const firstEnd = queue.follow(first, (e) => firstEntries.push(e));
    await until(() => out.includes(`took ${first}`), 30_000, "hanging worker taking the build");
    await until(() => firstEntries.length > 0, 30_000, "the hanging worker's first line");
    expect(firstEntries[0]).toEqual({ type: "line", text: `hanging-worker took ${first}` });
    expect(await queue.queue.getJobState(first)).toBe("active");

    proc.kill("SIGKILL");
    await exited;

    // Another worker, checking for stalled jobs often; it must not re-run the dead build.
    const ran: string[] = [];
    rescuer = startBuildWorker(
      {
        settings,
        store,
        run: async (job, emit) => {
          ran.push(job.buildId);
          emit("rescuer ran");
          return `http://${job.app}.example`;
        },
      },
      noLog,
      { lockDurationMs: 2000, stalledIntervalMs: 500 },
    );
    const second = await queue.enqueue(releaseJob(app, "second"));

    const end = await within(firstEnd, 30_000, "the dead worker's build ending");
    expect(end).toMatchObject({ type: "end", ok: false });
    expect(end.type === "end" && end.message).toMatch(/stalled|worker/);
    expect(firstEntries.at(-1)).toEqual(end);
    expect((await store.builds.get(first))?.status).toBe("failed");

    const secondEnd = await within(
      queue.follow(second, () => {}),
      30_000,
      "the app's next build",
    );
    expect(secondEnd).toMatchObject({ type: "end", ok: true, url: `http://${app}.example` });
    // bullmq's own stalled check fails the dead job too, and does not hand it to another worker.
    await until(
      async () => (await queue.queue.getJobState(first)) === "failed",
      30_000,
      "bullmq failing the job",
    );
    expect(ran).toEqual([second]);
  });
});

describe("build queue with no worker at all", () => {
  const ns = randomNs("tqn");
  let redis: Redis;
  let queue: BuildQueue;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new BuildQueue(storeOver(redis, ns), REDIS_URL);
  });

  afterAll(async () => {
    await queue?.close();
    if (redis) {
      await deleteNamespace(redis, ns);
      redis.disconnect();
    }
  });

  it("ends the follower's wait with 'no worker' (503) and takes the job back", async () => {
    const id = await queue.enqueue(releaseJob("lonely-app", "nobody takes this"));
    const end = await within(
      queue.follow(id, () => {}),
      40_000,
      "the no-worker verdict",
    );
    expect(end).toMatchObject({ type: "end", ok: false, code: "unavailable" });
    expect(end.type === "end" && end.message).toMatch(/no worker is running/);
    // A worker started later must not run what the user was told was refused.
    expect(await queue.queue.getJob(id)).toBeUndefined();
  });
});
