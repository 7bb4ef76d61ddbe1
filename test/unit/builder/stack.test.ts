import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseVersionLines, STACK_VERSION, stackImages, stackRecipe } from "../../../src/builder/stack.js";

const STACK_DIR = path.resolve(import.meta.dirname, "../../../scripts/images/stack");

describe("stack images", () => {
  it("uses our versioned images unless the operator names others", () => {
    expect(stackImages({ stackBuildImage: null, stackRunImage: null })).toEqual({
      build: `paas/stack-build:${STACK_VERSION}`,
      run: `paas/stack-run:${STACK_VERSION}`,
    });
    expect(stackImages({ stackBuildImage: "corp/build:22", stackRunImage: null }).build).toBe(
      "corp/build:22",
    );
  });

  it("keeps STACK_VERSION and scripts/images/stack/VERSION (read by setup.sh) equal", () => {
    expect(fs.readFileSync(path.join(STACK_DIR, "VERSION"), "utf8").trim()).toBe(STACK_VERSION);
  });

  it("computes the same recipe hash as setup.sh's recipe_hash", () => {
    const lib = path.resolve(STACK_DIR, "../lib.sh");
    const bash = execFileSync(
      "bash",
      ["-c", `source "${lib}"; cd "${STACK_DIR}" && recipe_hash . -- "base=sha256:abc"`],
      {
        encoding: "utf8",
      },
    ).trim();
    expect(stackRecipe("sha256:abc")).toBe(bash);
  });

  it("parses the version probe's key=value lines", () => {
    expect(parseVersionLines(["node=18.20.4", "go=", "junk", " python=3.11.2 "])).toEqual({
      node: "18.20.4",
      python: "3.11.2",
    });
  });
});
