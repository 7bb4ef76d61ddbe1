import { describe, expect, it } from "vitest";
import {
  explicitAfterScale,
  type FormationInput,
  planFormation,
  startBatches,
} from "../../src/runtime/formation-rule.js";

// The formation rule: Heroku/Dokku defaults, app.json formation, and ps:scale.

const input = (over: Partial<FormationInput>): FormationInput => ({
  current: {},
  processTypes: [],
  appJson: {},
  explicit: {},
  firstDeploy: false,
  ...over,
});

describe("planFormation", () => {
  it("first deploy: web=1, every other type 0, release is never a process type", () => {
    const plan = planFormation(
      input({ processTypes: ["web", "worker", "cron", "custom", "release"], firstDeploy: true }),
    );
    expect(plan.formation).toEqual({ web: 1, worker: 0, cron: 0, custom: 0 });
    expect(plan.notes.join("\n")).toContain("cron, custom, worker at 0: start with `paas ps:scale cron=1`");
  });

  it("keeps the counts the user chose (0 too); new types start at 0; vanished types go", () => {
    const plan = planFormation(
      input({ current: { web: 3, worker: 0, old: 2 }, processTypes: ["web", "worker", "clock"] }),
    );
    expect(plan.formation).toEqual({ web: 3, worker: 0, clock: 0 });
    expect(plan.notes.join("\n")).toContain("scaled away (no longer in the release): old");
  });

  it("a Procfile without web starts nothing and says how to scale", () => {
    const plan = planFormation(input({ processTypes: ["worker"], firstDeploy: true }));
    expect(plan.formation).toEqual({ worker: 0 });
    expect(plan.notes.join("\n")).toContain("no web process type: nothing is routed");
    expect(plan.notes.join("\n")).toContain("paas ps:scale worker=1");
    expect(plan.notes).toContain("no process is running");
  });

  it("applies app.json quantities on every deploy", () => {
    const appJson = { web: { quantity: 0 }, worker: { quantity: 1 } };
    expect(
      planFormation(input({ processTypes: ["web", "worker"], appJson, firstDeploy: true })).formation,
    ).toEqual({
      web: 0,
      worker: 1,
    });
    // Later deploy: a count changed by something other than ps:scale goes back to app.json's.
    expect(
      planFormation(input({ current: { web: 2, worker: 1 }, processTypes: ["web", "worker"], appJson }))
        .formation,
    ).toEqual({ web: 0, worker: 1 });
  });

  it("a ps:scale since app.json declared the quantity wins; a new declaration wins again", () => {
    const appJson = { worker: { quantity: 1 } };
    const explicit = explicitAfterScale({}, ["worker"], appJson);
    expect(explicit).toEqual({ worker: 1 });
    const kept = planFormation(
      input({ current: { web: 1, worker: 3 }, processTypes: ["web", "worker"], appJson, explicit }),
    );
    expect(kept.formation).toEqual({ web: 1, worker: 3 });
    expect(kept.explicit).toEqual({ worker: 1 });
    expect(kept.notes.join("\n")).toContain("worker=3 (set with ps:scale) wins over app.json");

    const changed = planFormation(
      input({
        current: { web: 1, worker: 3 },
        processTypes: ["web", "worker"],
        appJson: { worker: { quantity: 2 } },
        explicit,
      }),
    );
    expect(changed.formation).toEqual({ web: 1, worker: 2 });
    expect(changed.explicit).toEqual({});
  });

  it("a scale without an app.json quantity is kept until app.json declares one", () => {
    const explicit = explicitAfterScale({}, ["web"], {});
    expect(explicit).toEqual({ web: null });
    const base = { current: { web: 4 }, processTypes: ["web"], explicit };
    expect(planFormation(input(base)).formation).toEqual({ web: 4 });
    expect(planFormation(input({ ...base, appJson: { web: { quantity: 1 } } })).formation).toEqual({
      web: 1,
    });
  });

  it("drops explicit marks of types that are gone and notes app.json types that do not exist", () => {
    const plan = planFormation(
      input({
        current: { web: 1, gone: 2 },
        processTypes: ["web"],
        explicit: { gone: null },
        appJson: { ghost: { quantity: 1 } },
      }),
    );
    expect(plan.explicit).toEqual({});
    expect(plan.notes.join("\n")).toContain('app.json formation names "ghost", which is not a process type');
  });
});

describe("startBatches (max_parallel)", () => {
  const slots = [
    { type: "web", index: 1 },
    { type: "web", index: 2 },
    { type: "web", index: 3 },
    { type: "worker", index: 1 },
  ];
  const names = (b: { type: string; index: number }[][]) =>
    b.map((x) => x.map((s) => `${s.type}.${s.index}`));

  it("without max_parallel everything starts together", () => {
    expect(names(startBatches(slots, {}))).toEqual([["web.1", "web.2", "web.3", "worker.1"]]);
    expect(startBatches([], {})).toEqual([]);
  });

  it("a type with max_parallel N starts N at a time; the others go with the first batch", () => {
    expect(names(startBatches(slots, { web: { maxParallel: 2 } }))).toEqual([
      ["worker.1", "web.1", "web.2"],
      ["web.3"],
    ]);
    expect(names(startBatches(slots, { web: { maxParallel: 1 }, worker: { quantity: 1 } }))).toEqual([
      ["worker.1", "web.1"],
      ["web.2"],
      ["web.3"],
    ]);
  });
});
