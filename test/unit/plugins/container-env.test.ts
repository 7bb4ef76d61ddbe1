import { describe, expect, it } from "vitest";
import { planContainer } from "../../../src/runtime/plan.js";
import { mergeContainerEnv } from "../../../src/runtime/plugin-env.js";
import type { Release } from "../../../src/store/releases.js";

// container-env answers are plain data: merged in plugin order, then planned like the rest.

const release = {
  version: 3,
  image: "paas/demo:v3",
  config: { GREETING: "hi", SHARED: "from-config" },
  processTypes: { web: "httpd -f" },
  port: 5000,
} as unknown as Release;

describe("container-env", () => {
  it("merges answers: later env wins, one mount per target, networks joined with the primary first", () => {
    const merged = mergeContainerEnv([
      { env: { A: "1", B: "1" }, networks: [{ name: "addon-net", aliases: [] }] },
      {
        env: { B: "2" },
        mounts: [{ source: "v1", target: "/data", type: "volume" }],
        networks: [{ name: "app-net", aliases: ["web.demo.internal"], primary: true }],
      },
      {
        mounts: [{ source: "v2", target: "/data", type: "volume" }],
        networks: [{ name: "app-net", aliases: ["web.1.demo.internal"] }],
      },
    ]);
    expect(merged.env).toEqual({ A: "1", B: "2" });
    expect(merged.mounts).toEqual([{ source: "v2", target: "/data", type: "volume" }]);
    expect(merged.networks).toEqual([
      { name: "app-net", aliases: ["web.demo.internal", "web.1.demo.internal"], primary: true },
      { name: "addon-net", aliases: [], primary: false },
    ]);
  });

  it("a plan takes them: env under the app's config, mounts, the primary network with its aliases", () => {
    const spec = planContainer({
      namespace: "paas",
      app: "demo",
      release,
      slot: { type: "web", index: 1 },
      memory: 256 * 1024 * 1024,
      name: "demo.web.1",
      plugin: mergeContainerEnv([
        {
          env: { SHARED: "from-plugin", EXTRA: "x" },
          mounts: [{ source: "paas.storage.demo.data", target: "/data", type: "volume" }],
          networks: [
            { name: "paas.app.demo", aliases: ["web.demo.internal"], primary: true },
            { name: "paas.net.shared", aliases: ["web.demo.internal"] },
          ],
        },
      ]),
    });
    expect(spec.Env).toContain("SHARED=from-config");
    expect(spec.Env).toContain("EXTRA=x");
    expect(spec.HostConfig?.Mounts).toEqual([
      { Type: "volume", Source: "paas.storage.demo.data", Target: "/data", ReadOnly: undefined },
    ]);
    expect(spec.HostConfig?.NetworkMode).toBe("paas.app.demo");
    expect(spec.NetworkingConfig).toEqual({
      EndpointsConfig: { "paas.app.demo": { Aliases: ["web.demo.internal"] } },
    });
    // The router's way in is unchanged: the web port is still published on loopback.
    expect(spec.HostConfig?.PortBindings).toEqual({ "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
  });

  it("without plugins the plan is what it was: the default bridge, no mounts", () => {
    const spec = planContainer({
      namespace: "paas",
      app: "demo",
      release,
      slot: { type: "web", index: 1 },
      memory: 1,
      name: "demo.web.1",
    });
    expect(spec.HostConfig?.NetworkMode).toBeUndefined();
    expect(spec.HostConfig?.Mounts).toBeUndefined();
    expect(spec.NetworkingConfig).toBeUndefined();
  });
});
