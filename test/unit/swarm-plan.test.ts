import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config.js";
import type { NodeInfo, TaskInfo } from "../../src/docker/services.js";
import { dynoOf } from "../../src/router/access-log.js";
import { sharedExtras, swarmNetworkName, volumePin } from "../../src/runtime/swarm/extras.js";
import { parseConstraint } from "../../src/runtime/swarm/nodes.js";
import { planService, serviceName } from "../../src/runtime/swarm/plan.js";
import { baseImagesOf, registryRepo, tagsToRemove } from "../../src/runtime/swarm/registry.js";
import {
  type AppService,
  backendsOfTasks,
  currentByType,
  failureOf,
  processesOf,
} from "../../src/runtime/swarm/tasks.js";
import type { Release } from "../../src/store/releases.js";

// Swarm mode's pure parts: the service spec a release becomes, and what tasks mean for the
// route and for `paas ps`.

const release: Release = {
  version: 4,
  image: "paas/demo:v4",
  commit: "abc",
  config: { GREETING: "hi" },
  processTypes: { web: "httpd -f -p $PORT", worker: "sleep 1000" },
  port: 5000,
  description: "Deploy abc",
  user: "admin",
  createdAt: "2026-01-01T00:00:00Z",
  status: "succeeded",
};

const plan = (over: Partial<Parameters<typeof planService>[0]> = {}) =>
  planService({
    namespace: "paas",
    app: "demo",
    release,
    type: "web",
    replicas: 3,
    memory: 256 * 1024 * 1024,
    cpus: 0.5,
    pidsLimit: 512,
    network: "paas-swarm",
    constraints: ["node.labels.zone==a"],
    generation: "v4-abc",
    image: "registry.local:5000/paas/demo@sha256:0123",
    stopGraceSeconds: 10,
    monitorSeconds: 3,
    ...over,
  }) as Record<string, any>;

describe("planService", () => {
  it("runs the formation's replicas with the platform's labels, limits and restart policy", () => {
    const s = plan();
    expect(s.Name).toBe("paas-demo-web-v4-abc");
    expect(s.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(s.Labels).toMatchObject({ "paas.managed": "true", "paas.app": "demo", "paas.kind": "service" });
    const c = s.TaskTemplate.ContainerSpec;
    expect(c.Image).toBe("registry.local:5000/paas/demo@sha256:0123");
    expect(c.Args).toEqual(["/bin/sh", "-c", "httpd -f -p $PORT"]);
    expect(c.Labels).toMatchObject({ "paas.kind": "app", "paas.process": "web", "paas.release": "v4" });
    expect(c.Env).toEqual(expect.arrayContaining(["GREETING=hi", "PORT=5000", "DYNO=web.{{.Task.Slot}}"]));
    expect(s.TaskTemplate.Resources.Limits).toEqual({
      MemoryBytes: 256 * 1024 * 1024,
      NanoCPUs: 5e8,
      Pids: 512,
    });
    expect(s.TaskTemplate.RestartPolicy.Condition).toBe("any");
    expect(s.TaskTemplate.Placement.Constraints).toEqual(["node.labels.zone==a"]);
    expect(s.TaskTemplate.Networks).toEqual([{ Target: "paas-swarm", Aliases: ["demo-web"] }]);
  });

  it("updates start-first and rolls back on failure; DNS round robin and no published port", () => {
    const s = plan();
    expect(s.UpdateConfig).toMatchObject({ Order: "start-first", FailureAction: "rollback" });
    expect(s.EndpointSpec).toEqual({ Mode: "dnsrr" });
  });

  it("uses the image's own command when the type has none, and keeps names valid", () => {
    const s = plan({ release: { ...release, processTypes: { web: "" } } });
    expect(s.TaskTemplate.ContainerSpec.Args).toBeUndefined();
    expect(serviceName("paas", "a".repeat(60), "web", "v1-x")).toHaveLength(63);
  });
});

const task = (over: Partial<TaskInfo>): TaskInfo => ({
  id: "t1aaaaaaaaaaaaaa",
  serviceId: "s1",
  slot: 1,
  nodeId: "n1",
  state: "running",
  desired: "running",
  message: "",
  error: "",
  containerId: "c1",
  addresses: { "paas-swarm": "10.0.1.5" },
  image: "img",
  labels: {},
  updatedAt: "2026-01-01T00:00:01Z",
  exitCode: null,
  ...over,
});

const svc = (over: Partial<AppService>): AppService => ({
  id: "s1",
  name: "paas-demo-web-v4-a",
  type: "web",
  release: "v4",
  generation: "v4-a",
  replicas: 2,
  version: 1,
  spec: { TaskTemplate: { ContainerSpec: { Args: ["/bin/sh", "-c", "httpd"] } } },
  createdAt: "2026-01-01T00:00:00Z",
  ...over,
});

describe("tasks", () => {
  it("routes to running tasks only, by overlay address, in slot order", () => {
    const tasks = [
      task({ id: "b", slot: 2, addresses: { "paas-swarm": "10.0.1.7" } }),
      task({ id: "a", slot: 1 }),
      task({ id: "c", slot: 3, state: "starting" }),
      task({ id: "d", slot: 4, desired: "shutdown" }),
    ];
    expect(backendsOfTasks(tasks, "paas-swarm", 5000)).toEqual([
      { host: "10.0.1.5", port: 5000, id: "web.1.a" },
      { host: "10.0.1.7", port: 5000, id: "web.2.b" },
    ]);
    // The router's access lines name the dyno, as on one engine.
    expect(dynoOf(backendsOfTasks(tasks, "paas-swarm", 5000)[1])).toBe("web.2");
  });

  it("treats the newest service of a type as current and shows the older one's tasks as draining", () => {
    const old = svc({ id: "s0", release: "v3", createdAt: "2025-12-31T00:00:00Z" });
    const cur = svc({});
    expect(currentByType([old, cur]).get("web")?.id).toBe("s1");
    const nodes: NodeInfo[] = [
      {
        id: "n1",
        hostname: "node-a",
        role: "manager",
        state: "ready",
        availability: "active",
        address: "",
        labels: {},
        leader: true,
      },
    ];
    const ps = processesOf(
      [old, cur],
      [task({ serviceId: "s0", slot: 1 }), task({ slot: 1 }), task({ slot: 2, state: "preparing" })],
      nodes,
    );
    expect(ps.map((p) => `${p.name}:${p.state}:${p.release}:${p.node}`)).toEqual([
      "web.1:up:v4:node-a",
      "web.1:draining:v3:node-a",
      "web.2:starting:v4:node-a",
    ]);
    expect(ps[0].command).toBe("httpd");
  });

  it("reports the newest failed task's error and exit code", () => {
    expect(failureOf([task({})])).toBeNull();
    const failed = failureOf([
      task({ state: "failed", error: "old", updatedAt: "1" }),
      task({ state: "failed", error: "task: non-zero exit (3)", exitCode: 3, updatedAt: "2" }),
    ]);
    expect(failed).toBe("task: non-zero exit (3) (exit code 3)");
  });
});

describe("scheduler settings", () => {
  it("defaults to docker and checks PAAS_SCHEDULER, PAAS_SWARM_NETWORK and PAAS_REGISTRY", () => {
    const s = loadSettings({ PAAS_NAMESPACE: "x1" });
    expect(s.scheduler).toBe("docker");
    expect(s.swarmNetwork).toBe("x1-swarm");
    expect(s.registry).toBeNull();
    const sw = loadSettings({ PAAS_SCHEDULER: "swarm", PAAS_REGISTRY: "10.0.0.2:5000" });
    expect(sw.scheduler).toBe("swarm");
    expect(sw.registry).toBe("10.0.0.2:5000");
    expect(() => loadSettings({ PAAS_SCHEDULER: "kubernetes" })).toThrow(
      'PAAS_SCHEDULER="kubernetes" must be docker or swarm',
    );
    expect(() => loadSettings({ PAAS_REGISTRY: "https://r.example/x" })).toThrow("PAAS_REGISTRY");
    expect(() => loadSettings({ PAAS_SWARM_NETWORK: "bad name" })).toThrow("PAAS_SWARM_NETWORK");
    expect(s.swarmVolumeDriver).toBeNull();
    expect(loadSettings({ PAAS_SWARM_VOLUME_DRIVER: "rexray/ebs" }).swarmVolumeDriver).toBe("rexray/ebs");
    expect(() => loadSettings({ PAAS_SWARM_VOLUME_DRIVER: "no good" })).toThrow("PAAS_SWARM_VOLUME_DRIVER");
  });
});

describe("placement constraints and registry retention", () => {
  it("takes Swarm's constraint forms and names what is wrong otherwise", () => {
    expect(parseConstraint("node.labels.zone==a")).toBe("node.labels.zone==a");
    expect(parseConstraint(" node.role != manager ")).toBe("node.role!=manager");
    expect(parseConstraint("node.hostname==web-1")).toBe("node.hostname==web-1");
    for (const bad of [
      "zone=a",
      "node.labels.zone=a",
      "node.labels.zone==",
      "rm -rf /",
      "node.labels.a==b c",
    ]) {
      expect(() => parseConstraint(bad)).toThrow("is not a placement constraint");
    }
  });

  it("removes only release tags that no kept release uses", () => {
    expect(tagsToRemove(["v1", "v2", "v3", "v4", "latest"], new Set(["v3", "v4"]))).toEqual(["v1", "v2"]);
    expect(registryRepo("10.0.0.2:5000", "paas", "demo")).toBe("10.0.0.2:5000/paas/demo");
  });
});

describe("plugins' container-env on a service", () => {
  const slot = (index: number) => ({
    env: { FROM_PLUGIN: "1", GREETING: "plugin" },
    mounts: [{ source: "paas.storage.demo.data", target: "/data", type: "volume" as const }],
    networks: [
      { name: "paas-app-demo", aliases: ["web.demo.internal", `web.${index}.demo.internal`], primary: true },
    ],
  });

  it("keeps only the aliases every slot shares and names overlays as Swarm allows", () => {
    expect(sharedExtras(slot(1), slot(2)).networks[0].aliases).toEqual(["web.demo.internal"]);
    expect(swarmNetworkName("paas.app.demo")).toBe("paas-app-demo");
  });

  it("puts env (the app's config wins), volume mounts and networks with aliases in the spec", () => {
    const extras = sharedExtras(slot(1), slot(2));
    const spec = plan({ plugin: extras }) as {
      TaskTemplate: {
        ContainerSpec: { Env: string[]; Mounts: { Type: string; Source: string; VolumeOptions?: unknown }[] };
        Networks: { Target: string; Aliases: string[] }[];
      };
    };
    expect(spec.TaskTemplate.ContainerSpec.Env).toEqual(
      expect.arrayContaining(["FROM_PLUGIN=1", "GREETING=hi"]),
    );
    expect(spec.TaskTemplate.ContainerSpec.Mounts[0]).toMatchObject({
      Type: "volume",
      Source: "paas.storage.demo.data",
      Target: "/data",
    });
    expect(spec.TaskTemplate.Networks[1]).toEqual({
      Target: "paas-app-demo",
      Aliases: ["web.demo.internal"],
    });
    const driven = plan({ plugin: extras, volumeDriver: "rexray" }) as {
      TaskTemplate: { ContainerSpec: { Mounts: { VolumeOptions: { DriverConfig?: { Name: string } } }[] } };
    };
    expect(driven.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig).toEqual({
      Name: "rexray",
    });
  });

  it("pins a service with a named volume to the manager's node unless a volume driver is set", async () => {
    const services = { nodeId: async () => "node1" };
    const extras = sharedExtras(slot(1), slot(2));
    expect(await volumePin({ swarmVolumeDriver: null }, services, extras)).toEqual(["node.id==node1"]);
    expect(await volumePin({ swarmVolumeDriver: "rexray" }, services, extras)).toEqual([]);
    expect(await volumePin({ swarmVolumeDriver: null }, services, { mounts: [] })).toEqual([]);
  });

  it("picks the base and stack images to push for later nodes", () => {
    expect(
      baseImagesOf([
        "paas/busybox:latest",
        "paas/debian:bookworm",
        "paas/stack-run:1",
        "paas/demo:v4",
        "debian:bookworm",
      ]),
    ).toEqual(["paas/busybox:latest", "paas/debian:bookworm", "paas/stack-run:1"]);
  });
});
