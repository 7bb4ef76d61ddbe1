import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../src/store/keys.js";
import { Lease } from "../../src/store/lease.js";

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";

// Two collectors on one engine (e.g. two workers on a swarm manager) share it through this
// lease: one follows the engine, the other stands by until the lease is released or lapses.
describe("collector lease per engine", () => {
  let redis: Redis;
  const keys = new Keys(`t${randomBytes(4).toString("hex")}`);
  const key = keys.collectorLease("ENGINE-A");

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  });

  afterAll(async () => {
    await redis.del(key, keys.collectorLease("ENGINE-B"));
    redis.disconnect();
  });

  it("lets one holder follow an engine at a time, and hands over on release", async () => {
    const a = new Lease(redis, key, "a");
    const b = new Lease(redis, key, "b");
    expect(await a.take(10_000)).toBe(true);
    expect(await b.take(10_000)).toBe(false);
    // Renewing keeps it; the other still stands by.
    expect(await a.take(10_000)).toBe(true);
    expect(await b.take(10_000)).toBe(false);
    // Another engine is another lease.
    expect(await new Lease(redis, keys.collectorLease("ENGINE-B"), "b").take(10_000)).toBe(true);
    // A holder that is not the holder cannot release it.
    await b.release();
    expect(await redis.get(key)).toBe("a");
    await a.release();
    expect(await b.take(10_000)).toBe(true);
    expect(await a.take(10_000)).toBe(false);
  });

  it("lapses when not renewed, and the lapsed holder cannot take it back by renewing", async () => {
    const a = new Lease(redis, key, "a");
    const b = new Lease(redis, key, "b");
    await redis.del(key);
    expect(await a.take(150)).toBe(true);
    for (let i = 0; i < 50 && (await redis.exists(key)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await b.take(10_000)).toBe(true);
    expect(await a.take(10_000)).toBe(false);
    expect(await redis.get(key)).toBe("b");
  });
});
