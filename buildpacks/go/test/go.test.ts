import { describe, expect, it } from "vitest";
import { appDir, runBin } from "../../nodejs/test/helpers.js";

describe("go bin/detect", () => {
  it("detects go.mod", () => {
    const r = runBin("go", "detect", [appDir({ "go.mod": "module example.com/x\n" })]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("Go");
  });
  it("rejects apps without go.mod", () => {
    expect(runBin("go", "detect", [appDir({ "main.go": "" })]).code).toBe(1);
  });
});

describe("go bin/release", () => {
  it("runs the module's binary", () => {
    const dir = appDir({ "go.mod": "module example.com/hello\n\ngo 1.19\n", "bin/hello": "#!/bin/sh\n" });
    expect(runBin("go", "release", [dir]).stdout).toContain("  web: bin/hello");
  });
  it("names a /vN module after the element before the version", () => {
    const dir = appDir({ "go.mod": "module github.com/acme/api/v2\n", "bin/api": "#!/bin/sh\n" });
    expect(runBin("go", "release", [dir]).stdout).toContain("  web: bin/api");
  });
  it("falls back to the first binary when the module binary is missing", () => {
    const dir = appDir({ "go.mod": "module example.com/tools\n", "bin/server": "#!/bin/sh\n", "bin/worker": "#!/bin/sh\n" });
    expect(runBin("go", "release", [dir]).stdout).toContain("  web: bin/server");
  });
});
