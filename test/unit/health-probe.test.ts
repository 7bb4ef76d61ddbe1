import { describe, expect, it } from "vitest";
import { afterProbe } from "../../src/runtime/health-probe.js";

// What a run of liveness/readiness probe results means (the monitor acts on it).

describe("afterProbe", () => {
  const liveness = { type: "liveness" as const, attempts: 3 };
  const readiness = { type: "readiness" as const, attempts: 2 };

  it("liveness: restarts after `attempts` failures in a row, and a pass resets the count", () => {
    let failures = 0;
    const actions: string[] = [];
    for (const passed of [false, false, true, false, false, false]) {
      const r = afterProbe(liveness, failures, passed, false);
      failures = r.failures;
      actions.push(r.action);
    }
    expect(actions).toEqual(["none", "none", "none", "none", "none", "restart"]);
    expect(failures).toBe(0);
  });

  it("readiness: out of the route once, back in on the first pass", () => {
    expect(afterProbe(readiness, 0, false, false)).toEqual({ failures: 1, action: "none" });
    expect(afterProbe(readiness, 1, false, false)).toEqual({ failures: 2, action: "unready" });
    expect(afterProbe(readiness, 2, false, true)).toEqual({ failures: 3, action: "none" });
    expect(afterProbe(readiness, 3, true, true)).toEqual({ failures: 0, action: "ready" });
    expect(afterProbe(readiness, 0, true, false)).toEqual({ failures: 0, action: "none" });
  });

  it("startup checks are never acted on by the monitor", () => {
    expect(afterProbe({ type: "startup", attempts: 1 }, 0, false, false).action).toBe("none");
  });
});
