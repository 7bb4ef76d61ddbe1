import crypto from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config.js";
import { connectDocker } from "../../src/docker/index.js";
import type { AppName } from "../../src/names.js";
import { gcImages } from "../../src/runtime/gc.js";
import { storeOver } from "../../src/store/index.js";
import { saveRelease } from "../../src/store/releases.js";
import { REDIS_URL, sweep } from "../helpers/platform.js";

// Old images go beyond the retention count; never one a kept release (or the current one) uses.

describe("image garbage collection", () => {
  const ns = `tgc-${crypto.randomBytes(3).toString("hex")}`;
  const app = "gcapp" as AppName;
  const redis = new Redis(REDIS_URL);
  const store = storeOver(redis, ns);
  const docker = connectDocker();
  const settings = loadSettings({
    PAAS_NAMESPACE: ns,
    PAAS_RELEASE_RETENTION: "2",
    PAAS_REDIS_URL: REDIS_URL,
  });

  afterAll(async () => {
    await sweep(ns);
    redis.disconnect();
  });

  async function tagged(version: number): Promise<string> {
    const ref = `${ns}/${app}:v${version}`;
    // A distinct image per release: busybox plus a label, committed from a created container.
    const id = await docker.containers.create({
      name: `${ns}-gc-${version}`,
      Image: "paas/busybox:latest",
      Labels: { "paas.managed": "true", "paas.namespace": ns },
    });
    await docker.containers.commit(id, `${ns}/${app}`, `v${version}`, [], {
      "paas.managed": "true",
      "paas.namespace": ns,
      "paas.app": app,
      "paas.kind": "release",
      "paas.release": `v${version}`,
    });
    await docker.containers.remove(id);
    return ref;
  }

  it("keeps the newest releases' images and the current one, removes the rest", async () => {
    await store.apps.create(app);
    const images: string[] = [];
    for (let v = 1; v <= 4; v++) {
      const image = await tagged(v);
      images.push(image);
      const r = await store.releases.create(app, {
        image,
        commit: null,
        config: {},
        processTypes: { web: "" },
        port: 5000,
        description: `Deploy ${v}`,
        user: "test",
      });
      await saveRelease(store, app, { ...r, status: "succeeded" });
    }
    // A config-change release reuses v4's image; v1 is current (as after a rollback).
    await store.releases.create(app, {
      image: images[3],
      commit: null,
      config: { A: "1" },
      processTypes: { web: "" },
      port: 5000,
      description: "Set A config var",
      user: "test",
    });
    await store.apps.setCurrentRelease(app, 1);

    const removed = await gcImages({ settings, store, docker } as never, app, () => {});
    expect(removed).toBe(2);
    const present = await Promise.all(images.map(async (i) => (await docker.images.inspect(i)) !== null));
    // Kept: v5 and v4 (newest two, v5 uses v4's image) and v1 (current). Gone: v2, v3.
    expect(present).toEqual([true, false, false, true]);
  });
});
