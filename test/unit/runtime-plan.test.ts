import { describe, expect, it } from "vitest";
import { containerName, type PlanInput, planContainer, slotsFor } from "../../src/runtime/plan.js";
import type { Release } from "../../src/store/releases.js";

const MiB = 1024 * 1024;

function release(over: Partial<Release> = {}): Release {
  return {
    version: 3,
    image: "paas/shop:v3",
    commit: "abc123",
    config: { DATABASE_URL: "postgres://db/shop", GREETING: "hi there" },
    processTypes: { web: "node server.js", worker: "node worker.js", plain: "" },
    port: 8080,
    description: "Deploy abc123",
    user: "admin",
    createdAt: "2024-01-01T00:00:00.000Z",
    status: "pending",
    ...over,
  };
}

function plan(over: Partial<PlanInput> = {}) {
  return planContainer({
    namespace: "tq-ns",
    app: "shop",
    release: release(),
    slot: { type: "web", index: 1 },
    memory: 256 * MiB,
    name: "tq-ns.shop.web.1",
    ...over,
  });
}

const envOf = (spec: ReturnType<typeof plan>) =>
  Object.fromEntries((spec.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

describe("planContainer", () => {
  it("names the container and uses the release's image", () => {
    const spec = plan({ name: "tq-ns.shop.web.1.next" });
    expect(spec.name).toBe("tq-ns.shop.web.1.next");
    expect(spec.Image).toBe("paas/shop:v3");
  });

  it("labels the container with namespace, app, release, process type and instance", () => {
    expect(plan({ slot: { type: "worker", index: 2 } }).Labels).toEqual({
      "paas.managed": "true",
      "paas.namespace": "tq-ns",
      "paas.app": "shop",
      "paas.release": "v3",
      "paas.process": "worker",
      "paas.instance": "2",
      "paas.kind": "app",
    });
  });

  it("gives the config vars plus PORT, DYNO and PAAS_RELEASE", () => {
    const env = envOf(plan({ slot: { type: "web", index: 2 } }));
    expect(env).toEqual({
      DATABASE_URL: "postgres://db/shop",
      GREETING: "hi there",
      PORT: "8080",
      DYNO: "web.2",
      PAAS_APP: "shop",
      PAAS_RELEASE: "v3",
      PAAS_PROCESS_TYPE: "web",
    });
  });

  it("keeps values with = and spaces intact, and the platform's variables win over config", () => {
    const env = envOf(plan({ release: release({ config: { PORT: "1", DYNO: "x", Q: "a=b c" } }) }));
    expect(env.PORT).toBe("8080");
    expect(env.DYNO).toBe("web.1");
    expect(env.Q).toBe("a=b c");
  });

  it("publishes the web port on 127.0.0.1 only, on a random host port", () => {
    const spec = plan();
    expect(spec.ExposedPorts).toEqual({ "8080/tcp": {} });
    expect(spec.HostConfig?.PortBindings).toEqual({ "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
    expect(spec.HostConfig?.NetworkMode).toBeUndefined();
  });

  it("publishes nothing for other process types", () => {
    const spec = plan({ slot: { type: "worker", index: 1 } });
    expect(spec.ExposedPorts).toBeUndefined();
    expect(spec.HostConfig?.PortBindings).toBeUndefined();
    expect(envOf(spec).PORT).toBe("8080");
  });

  it("sets the memory limit, an optional CPU limit and a restart policy", () => {
    const spec = plan({ memory: 128 * MiB });
    expect(spec.HostConfig?.Memory).toBe(128 * MiB);
    expect(spec.HostConfig?.NanoCpus).toBeUndefined();
    expect(spec.HostConfig?.RestartPolicy).toEqual({ Name: "unless-stopped" });
    expect(plan({ cpus: 0.5 }).HostConfig?.NanoCpus).toBe(500_000_000);
  });

  it("runs the process type's command through a shell, or the image's CMD when it has none", () => {
    expect(plan().Cmd).toEqual(["/bin/sh", "-c", "node server.js"]);
    expect(plan({ slot: { type: "worker", index: 1 } }).Cmd).toEqual(["/bin/sh", "-c", "node worker.js"]);
    expect(plan({ slot: { type: "plain", index: 1 } }).Cmd).toBeUndefined();
    expect(plan({ release: release({ processTypes: {} }) }).Cmd).toBeUndefined();
  });

  it("never mounts the Docker socket (or anything else) into an app container", () => {
    for (const type of ["web", "worker", "plain"]) {
      const spec = plan({ slot: { type, index: 1 } });
      const host = spec.HostConfig ?? {};
      expect(host.Binds ?? []).toEqual([]);
      expect(host.Mounts ?? []).toEqual([]);
      expect(spec.Volumes ?? {}).toEqual({});
      expect(host.Privileged).not.toBe(true);
      expect(JSON.stringify(spec)).not.toContain("docker.sock");
    }
  });

  it("refuses a release without an image", () => {
    expect(() => plan({ release: release({ image: null }) })).toThrow("release has no image");
  });
});

describe("containerName", () => {
  it("is app.type.index in the default namespace", () => {
    expect(containerName("paas", "shop", { type: "web", index: 1 })).toBe("shop.web.1");
  });

  it("is prefixed by any other namespace, and takes a suffix", () => {
    expect(containerName("tq-ns", "shop", { type: "worker", index: 3 })).toBe("tq-ns.shop.worker.3");
    expect(containerName("paas", "shop", { type: "web", index: 2 }, "next")).toBe("shop.web.2.next");
  });
});

describe("slotsFor", () => {
  it("lists one slot per wanted container, types in order", () => {
    expect(slotsFor({ worker: 1, web: 2 })).toEqual([
      { type: "web", index: 1 },
      { type: "web", index: 2 },
      { type: "worker", index: 1 },
    ]);
  });

  it("lists nothing for scaled-down types", () => {
    expect(slotsFor({ web: 0, clock: 0 })).toEqual([]);
    expect(slotsFor({})).toEqual([]);
  });
});
