import { describe, expect, it } from "vitest";
import { parseRunRequest } from "../../src/run-protocol.js";

describe("a run request's service image (pg:psql)", () => {
  it("is optional, and named like an image when given", () => {
    expect(parseRunRequest({ command: "psql" }).image).toBeNull();
    expect(parseRunRequest({ command: "psql", image: "paas/postgres:15" }).image).toBe("paas/postgres:15");
  });

  it("refuses what is not an image name, with the form to use", () => {
    for (const image of ["", "../x", "paas/postgres:15 --privileged", 42, "UPPER/case"])
      expect(() => parseRunRequest({ command: "psql", image })).toThrow(
        "image must be an image name like paas/postgres:15",
      );
  });
});
