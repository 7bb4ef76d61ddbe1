import { describe, expect, it } from "vitest";
import { CPU_MAX, CPU_MIN, cpuProblem, MEMORY_MIN, memoryProblem } from "../../src/runtime/limits.js";

describe("resources:set limit checks", () => {
  it("takes CPUs from 0.01 to 64, and says so for anything else", () => {
    expect([CPU_MIN, CPU_MAX]).toEqual([0.01, 64]);
    for (const ok of [0.01, 0.5, 2, 64]) expect(cpuProblem(ok)).toBeNull();
    for (const bad of [0, 0.001, -1, 99, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(cpuProblem(bad)).toMatch(/must be a number of cores from 0\.01 to 64/);
    }
  });

  it("refuses more CPUs than the host has, naming its cores", () => {
    expect(cpuProblem(2, 2)).toBeNull();
    expect(cpuProblem(1.5, 2)).toBeNull();
    expect(cpuProblem(4, 2)).toBe("cpu 4 is more than this host has (2 cores): give a number from 0.01 to 2");
    expect(cpuProblem(2, 1)).toMatch(/\(1 core\)/);
    // Host unknown: only the fixed range applies.
    expect(cpuProblem(4, null)).toBeNull();
  });

  it("refuses memory below what Docker starts a container with", () => {
    expect(MEMORY_MIN).toBe(6 * 1024 * 1024);
    expect(memoryProblem(6 * 1024 * 1024)).toBeNull();
    expect(memoryProblem(256 * 1024 * 1024)).toBeNull();
    expect(memoryProblem(5 * 1024 * 1024)).toMatch(/at least 6m/);
  });
});
