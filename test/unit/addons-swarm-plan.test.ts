import { describe, expect, it } from "vitest";
import { pinConstraint, pinnedNode, planAddonService } from "../../plugins/addons/swarm-plan.js";
import type { Addon } from "../../plugins/addons/types.js";

const redis: Addon = {
  name: "redis-abc123",
  service: "redis",
  app: "shop",
  attachments: [
    { app: "shop", as: "REDIS" },
    { app: "admin", as: "CACHE" },
  ],
  user: "default",
  password: "secret",
  database: "0",
  image: "paas/redis:7",
  createdAt: "2026-01-01T00:00:00Z",
  createdBy: "admin",
  placement: { nodeId: "n1", hostname: "node-1" },
};

type Spec = {
  Name: string;
  Labels: Record<string, string>;
  Mode: { Replicated: { Replicas: number } };
  EndpointSpec: { Mode: string };
  UpdateConfig: { Order: string };
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Env: string[];
      Labels: Record<string, string>;
      Mounts: { Type: string; Source: string; Target: string; VolumeOptions: Record<string, unknown> }[];
    };
    RestartPolicy: { Condition: string };
    Placement: { Constraints: string[] };
    Networks: { Target: string; Aliases: string[] }[];
  };
};

describe("an add-on as a Swarm service", () => {
  it("is one dnsrr replica pinned to its node, on its overlay with every attached app's alias", () => {
    const spec = planAddonService({
      namespace: "ns",
      addon: redis,
      nodeId: "n1",
      volumeDriver: null,
      image: "paas/redis:7",
    }) as unknown as Spec;
    expect(spec.Name).toBe("ns-addon-redis-abc123");
    expect(spec.Labels).toMatchObject({
      "paas.managed": "true",
      "paas.namespace": "ns",
      "paas.kind": "addon",
    });
    expect(spec.TaskTemplate.ContainerSpec.Labels).toEqual(spec.Labels);
    expect(spec.Mode.Replicated.Replicas).toBe(1);
    expect(spec.EndpointSpec.Mode).toBe("dnsrr");
    expect(spec.UpdateConfig.Order).toBe("stop-first");
    expect(spec.TaskTemplate.RestartPolicy.Condition).toBe("any");
    expect(spec.TaskTemplate.Placement.Constraints).toEqual(["node.id==n1"]);
    expect(spec.TaskTemplate.Networks).toEqual([
      {
        Target: "ns-addon-redis-abc123",
        Aliases: ["redis-abc123", "redis-abc123.shop.internal", "redis-abc123.admin.internal"],
      },
    ]);
    const [mount] = spec.TaskTemplate.ContainerSpec.Mounts;
    expect(mount).toMatchObject({ Type: "volume", Source: "ns-addon-redis-abc123-data", Target: "/data" });
    expect(mount.VolumeOptions.DriverConfig).toBeUndefined();
    expect(spec.TaskTemplate.ContainerSpec.Env).toEqual(["REDIS_PASSWORD=secret"]);
  });

  it("is not pinned when a volume driver spans nodes, and names the driver", () => {
    const spec = planAddonService({
      namespace: "ns",
      addon: { ...redis, placement: null },
      nodeId: null,
      volumeDriver: "rexray",
      image: "10.0.0.1:5000/paas/redis:7",
    }) as unknown as Spec;
    expect(spec.TaskTemplate.Placement.Constraints).toEqual([]);
    expect(spec.TaskTemplate.ContainerSpec.Image).toBe("10.0.0.1:5000/paas/redis:7");
    expect(spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig).toEqual({ Name: "rexray" });
  });

  it("reads the pinned node back from constraints", () => {
    expect(pinnedNode([pinConstraint("abc")])).toBe("abc");
    expect(pinnedNode(["node.role==manager", "node.id == xyz"])).toBe("xyz");
    expect(pinnedNode(["node.labels.zone==a"])).toBeNull();
    expect(pinnedNode(undefined)).toBeNull();
  });
});
