import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppName } from "../../src/names.js";
import { type Store, storeOver } from "../../src/store/index.js";
import { keyId, loadKeyring } from "../../src/store/secret-box.js";
import { checkKeyring, resealAll, rotateKey, useKeyring } from "../../src/store/secrets.js";
import { REDIS_URL, sweep } from "../helpers/platform.js";

// The start-up migration and secrets:rotate-key over the real Redis: values written in clear
// by an older platform (config, release snapshots, drains keyed by URL) end up sealed, with
// the current key, readable through the stores, and a keyring that is not the platform's is
// refused.

describe("sealing what an older platform left in clear", () => {
  const ns = `tseal${crypto.randomBytes(3).toString("hex")}`;
  const redis = new Redis(REDIS_URL);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-seal-"));
  const app = "legacy-app" as AppName;
  let store: Store;

  beforeAll(async () => {
    store = storeOver(redis, ns);
    await store.apps.create(app);
    // What the platform wrote before values were sealed.
    await redis.hset(store.keys.config(app), {
      DATABASE_URL: "postgres://u:pw-config@db/x",
      PORT_HINT: "5000",
    });
    const release = {
      version: 1,
      image: "paas/legacy-app:v1",
      commit: null,
      config: { DATABASE_URL: "postgres://u:pw-release@db/x" },
      processTypes: { web: "" },
      port: 5000,
      description: "Deploy",
      user: "admin",
      createdAt: new Date().toISOString(),
      status: "succeeded",
    };
    await redis.hset(store.keys.releases(app), "1", JSON.stringify(release));
    const drainUrl = "https://u:pw-drain@logs.example/in";
    await redis.hset(
      store.keys.drains(app),
      drainUrl,
      JSON.stringify({ url: drainUrl, token: "d.1234", addedAt: new Date().toISOString() }),
    );
  });

  afterAll(async () => {
    await sweep(ns);
    redis.disconnect();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("reads the plain values, then seals every one with the current key", async () => {
    const ring = loadKeyring(dataDir);
    useKeyring(store, ring);
    await checkKeyring(store, ring);
    expect((await store.config.get(app)).DATABASE_URL).toBe("postgres://u:pw-config@db/x");

    const report = await resealAll(store, ring);
    expect(report).toMatchObject({ resealed: 4, remaining: 0, currentKey: ring.currentId() });
    const raw = JSON.stringify([
      await redis.hgetall(store.keys.config(app)),
      await redis.hgetall(store.keys.releases(app)),
      await redis.hgetall(store.keys.drains(app)),
    ]);
    for (const secret of ["pw-config", "pw-release", "pw-drain", "logs.example"])
      expect(raw).not.toContain(secret);
    // Drains are kept by token now.
    expect(Object.keys(await redis.hgetall(store.keys.drains(app)))).toEqual(["d.1234"]);

    expect(await store.config.get(app)).toEqual({
      DATABASE_URL: "postgres://u:pw-config@db/x",
      PORT_HINT: "5000",
    });
    expect((await store.releases.get(app, 1))?.config.DATABASE_URL).toBe("postgres://u:pw-release@db/x");
    expect((await store.drains.list(app)).map((d) => d.url)).toEqual(["https://u:pw-drain@logs.example/in"]);
    expect((await resealAll(store, ring)).resealed).toBe(0);
  });

  it("rotates: new key current, every value re-sealed, the old key forgotten", async () => {
    const ring = store.secrets!;
    const before = ring.currentId();
    const r = await rotateKey(store, ring, { dataDir, fromEnv: false });
    expect(r).toMatchObject({ rotated: true, oldKey: before, remaining: 0, resealed: 4 });
    expect(ring.currentId()).not.toBe(before);
    expect(JSON.stringify(await redis.hgetall(store.keys.config(app)))).not.toContain(`$sb2$${before}$`);
    expect((await store.releases.list(app))[0].config.DATABASE_URL).toBe("postgres://u:pw-release@db/x");
    expect(fs.readdirSync(dataDir).sort()).toEqual(["secret.key"]);
    // Status changes keep the snapshot sealed.
    await store.releases.setStatus(app, 1, "failed");
    expect(await redis.hget(store.keys.releases(app), "1")).not.toContain("pw-release");
  });

  it("a keyring that is not the platform's is refused with what to do", async () => {
    const other = loadKeyring(fs.mkdtempSync(path.join(dataDir, "other-")));
    await expect(checkKeyring(store, other)).rejects.toThrow(
      new RegExp(
        `\\(${other.currentId()}\\) is not the platform's \\(${store.secrets!.currentId()}\\).*PAAS_SECRET_KEY`,
      ),
    );
    const same = loadKeyring(fs.mkdtempSync(path.join(dataDir, "env-")), {
      secretKey: Buffer.from(fs.readFileSync(path.join(dataDir, "secret.key"), "utf8"), "base64"),
    });
    expect(same.currentId()).toBe(
      keyId(Buffer.from(fs.readFileSync(path.join(dataDir, "secret.key"), "utf8"), "base64")),
    );
    await expect(checkKeyring(store, same)).resolves.toBeUndefined();
  });
});
