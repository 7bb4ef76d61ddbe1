import { describe, expect, it } from "vitest";
import { DeployFailed } from "../../src/errors.js";
import { parseAppName } from "../../src/names.js";
import { type OperationDeps, runRuntimeOp } from "../../src/runtime/operations.js";

// Swarm operations' bookkeeping. `paas ps:placement web CONSTRAINT` stores the type's constraints, then replaces its services.
// When no node satisfies them the deploy fails and the old tasks keep serving where they were:
// the stored placement must be the old one again, or every later deploy of the type (push,
// config:set) fails on the same constraint. Fakes: only the operation's bookkeeping is tested
// here (test/swarm/swarm-single.test.ts places a type on a real swarm).

function depsWith(deploy: () => Promise<void>, placement: Record<string, string[]>) {
  const app = parseAppName("shop");
  const release = { version: 2, image: "ns/shop:v2", processTypes: { web: "" } };
  const store = {
    lock: { withLock: (_app: string, fn: () => Promise<unknown>) => fn() },
    apps: { require: async () => ({ name: app, release: 2 }) },
    releases: { get: async () => release },
    formation: { get: async () => ({ web: 2 }) },
    placement: {
      get: async (_a: string, type: string) => placement[type] ?? [],
      all: async () => ({ ...placement }),
      set: async (_a: string, type: string, constraints: string[]) => {
        if (constraints.length === 0) delete placement[type];
        else placement[type] = constraints;
      },
    },
  };
  const deployer = { kind: "swarm", deploy };
  return { app, deps: { store, deployer } as unknown as OperationDeps };
}

describe("ps:placement", () => {
  it("keeps the old constraints when the type's new services do not start", async () => {
    const placement: Record<string, string[]> = { web: ["node.role==manager"] };
    const { app, deps } = depsWith(async () => {
      throw new DeployFailed("web did not start within 60s: pending no suitable node");
    }, placement);
    const op = { op: "placement" as const, type: "web", constraints: ["node.labels.zone==a"] };
    await expect(runRuntimeOp(deps, app, op, () => {})).rejects.toThrow("no suitable node");
    expect(placement).toEqual({ web: ["node.role==manager"] });
  });

  it("clears a new type's constraints again when its deploy fails", async () => {
    const placement: Record<string, string[]> = {};
    const { app, deps } = depsWith(async () => {
      throw new DeployFailed("web did not start within 60s");
    }, placement);
    const op = { op: "placement" as const, type: "web", constraints: ["node.labels.zone==a"] };
    await expect(runRuntimeOp(deps, app, op, () => {})).rejects.toThrow("did not start");
    expect(placement).toEqual({});
  });

  it("stores the constraints once the type's services follow them", async () => {
    const placement: Record<string, string[]> = {};
    const { app, deps } = depsWith(async () => {}, placement);
    const op = { op: "placement" as const, type: "web", constraints: ["node.labels.zone==a"] };
    expect(await runRuntimeOp(deps, app, op, () => {})).toEqual({
      placement: { web: ["node.labels.zone==a"] },
    });
    expect(placement).toEqual({ web: ["node.labels.zone==a"] });
  });
});

describe("ps:restart web.1 in swarm mode", () => {
  it("says the whole type restarted: Swarm replaces the type's service, not one task", async () => {
    const { app, deps } = depsWith(async () => {}, {});
    const done = await runRuntimeOp(
      deps,
      app,
      { op: "restart", target: { type: "web", index: 1 } },
      () => {},
    );
    expect(done).toEqual({ restarted: ["web.1", "web.2"] });
  });

  it("still refuses a process that does not exist", async () => {
    const { app, deps } = depsWith(async () => {}, {});
    await expect(
      runRuntimeOp(deps, app, { op: "restart", target: { type: "web", index: 9 } }, () => {}),
    ).rejects.toThrow("web.9 does not exist");
  });
});
