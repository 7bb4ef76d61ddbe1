import { randomBytes } from "node:crypto";
import net, { type AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmeRenewer, backoffMs } from "../../src/router/acme.js";
import { type Store, storeOver } from "../../src/store/index.js";
import { keySecretBox } from "../../src/store/secret-box.js";

// The ACME renewer against the real Redis when the CA cannot be reached: the failure is
// recorded with the reason, the next try waits for the backoff, and only one renewer holds
// the lease at a time. (The success path, against pebble: test/e2e/router-domains.test.ts.)

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";
const NS = `test-acme-${randomBytes(4).toString("hex")}`;

describe("ACME renewer", () => {
  let redis: Redis;
  let store: Store;
  let deadPort = 0;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    store = storeOver(redis, NS);
    const box = keySecretBox(randomBytes(32));
    store.certs.useSecretBox(box);
    store.acme.useSecretBox(box);
    // A loopback port with nothing listening: the "CA" refuses connections.
    const s = net.createServer();
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    deadPort = (s.address() as AddressInfo).port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  afterAll(async () => {
    const keys = await redis.keys(`${NS}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("records a failure with its reason and waits for the backoff before trying again", async () => {
    await store.domains.add("shop", ["shop.example.test", "*.wild.example.test"]);
    await store.acme.enable("shop");
    let now = new Date("2026-01-01T00:00:00Z");
    const renewer = new AcmeRenewer({
      directory: `http://127.0.0.1:${deadPort}/dir`,
      email: null,
      acme: store.acme,
      certs: store.certs,
      domains: store.domains,
      now: () => now,
    });
    await renewer.tick();
    const first = await store.acme.status("shop");
    expect(first).toMatchObject({ enabled: true, state: "failing", failures: 1 });
    expect(first.message).toMatch(/ECONNREFUSED/);
    expect(first.nextAttempt).toBe(new Date(now.getTime() + backoffMs(1)).toISOString());

    // Before the backoff is over nothing is tried (the count stays).
    now = new Date(now.getTime() + 30_000);
    await renewer.tick();
    expect((await store.acme.status("shop")).failures).toBe(1);

    // After it, the next failure doubles the wait.
    now = new Date(now.getTime() + 60_000);
    await renewer.tick();
    const third = await store.acme.status("shop");
    expect(third.failures).toBe(2);
    expect(third.nextAttempt).toBe(new Date(now.getTime() + backoffMs(2)).toISOString());
    expect(await store.certs.list("shop")).toEqual([]);
  });

  it("lets one renewer hold the lease at a time", async () => {
    const one = await store.acme.takeLease(10_000);
    expect(one).not.toBeNull();
    expect(await store.acme.takeLease(10_000)).toBeNull();
    expect(await one!.renew()).toBe(true);
    await one!.release();
    const two = await store.acme.takeLease(10_000);
    expect(two).not.toBeNull();
    await two!.release();
  });

  it("keeps the account key sealed in Redis and gives the same key back", async () => {
    let made = 0;
    const create = async () => {
      made++;
      return "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n";
    };
    const a = await store.acme.accountKey("https://ca.example.test/dir", create);
    const b = await store.acme.accountKey("https://ca.example.test/dir", create);
    expect(a).toBe(b);
    expect(made).toBe(1);
    const raw = await redis.hget(`${NS}:acme:account`, "https://ca.example.test/dir");
    expect(raw).toBeTruthy();
    expect(raw).not.toContain("PRIVATE KEY");
  });
});
