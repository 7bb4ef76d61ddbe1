import { describe, expect, it } from "vitest";
import { appDir, runBin } from "../../nodejs/test/helpers.js";

describe("procfile buildpack", () => {
  it("detects a Procfile", () => {
    const r = runBin("procfile", "detect", [appDir({ Procfile: "web: ./run" })]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("Procfile");
  });
  it("rejects apps without a Procfile", () => {
    expect(runBin("procfile", "detect", [appDir({ "run.sh": "" })]).code).toBe(1);
  });
  it("compiles to nothing but lists the process types", () => {
    const dir = appDir({ Procfile: "web: ./web.sh\nworker: ./worker.sh\n" });
    const r = runBin("procfile", "compile", [dir, appDir({}), appDir({})]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Process types: web worker");
  });
  it("releases no defaults: the platform reads the Procfile", () => {
    expect(runBin("procfile", "release", [appDir({ Procfile: "web: x" })]).stdout.trim()).toBe("--- {}");
  });
});
