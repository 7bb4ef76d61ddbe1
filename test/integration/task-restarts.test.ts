import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../src/store/keys.js";
import { type TaskRestart, TaskRestartStore } from "../../src/store/task-restarts.js";

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";

// Swarm liveness: the probing worker files a restart under the task's node; the node's worker
// claims it. One request per task (two monitors, or the next failures, file nothing more),
// and one claim per request (two workers of a node never kill twice).
describe("swarm liveness restart requests", () => {
  let redis: Redis;
  const keys = new Keys(`t${randomBytes(4).toString("hex")}`);
  const request = (task: string): TaskRestart => ({
    app: "shop",
    process: "web.2",
    task,
    container: `c-${task}`,
    check: "alive",
    attempts: 3,
    at: Date.now(),
  });

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  });

  afterAll(async () => {
    const left = await redis.keys(`${keys.ns}:*`);
    if (left.length > 0) await redis.del(...left);
    redis.disconnect();
  });

  it("files a task once, under its node, and lets one caller claim it", async () => {
    const a = new TaskRestartStore(redis, keys);
    const b = new TaskRestartStore(redis, keys);
    expect(await a.request("NODE-1", request("T1"))).toBe(true);
    expect(await b.request("NODE-1", request("T1"))).toBe(false);
    expect(await a.request("NODE-2", request("T2"))).toBe(true);
    expect((await a.pending("NODE-1")).map((r) => r.task)).toEqual(["T1"]);
    expect((await a.pending("NODE-2")).map((r) => r.task)).toEqual(["T2"]);
    const claims = await Promise.all([a.claim("NODE-1", "T1"), b.claim("NODE-1", "T1")]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await a.pending("NODE-1")).toEqual([]);
    // Claimed and done: the same task is not filed again (its container is being replaced).
    expect(await a.request("NODE-1", request("T1"))).toBe(false);
    expect(await redis.pttl(keys.taskRestarts("NODE-2"))).toBeGreaterThan(0);
  });

  it("says whether a node has a worker acting for it (its lease)", async () => {
    const s = new TaskRestartStore(redis, keys);
    expect(await s.hasWorker("NODE-3")).toBe(false);
    const lease = s.lease("NODE-3", "worker-a");
    expect(await lease.take(10_000)).toBe(true);
    expect(await s.lease("NODE-3", "worker-b").take(10_000)).toBe(false);
    expect(await s.hasWorker("NODE-3")).toBe(true);
    await lease.release();
    expect(await s.hasWorker("NODE-3")).toBe(false);
  });
});
