import { describe, expect, it } from "vitest";
import { processSummary } from "../../src/api/dashboard/view.js";
import type { ProcessInfo } from "../../src/runtime/runtime.js";

const proc = (type: string, index: number, state: ProcessInfo["state"]): ProcessInfo => ({
  name: `${type}.${index}`,
  type,
  index,
  state,
  release: "v1",
  command: "",
  startedAt: null,
  restarts: 0,
  port: null,
  container: `c${type}${index}`,
});

describe("processSummary", () => {
  it("counts states per type, types in order, and names one-offs as such", () => {
    expect(
      processSummary([
        proc("web", 1, "up"),
        proc("worker", 1, "crashed"),
        proc("web", 2, "up"),
        proc("run", 1, "up"),
        proc("worker", 2, "up"),
      ]),
    ).toEqual(["run (one-off): 1 up", "web: 2 up", "worker: 1 crashed, 1 up"]);
  });
});
