import { describe, expect, it } from "vitest";
import {
  BUNDLED_BUILDPACKS,
  chooseBuildpacks,
  compileFailureReason,
  nothingDetected,
  parseBuildpackRef,
  parseBuildpacksFile,
  runnerSpec,
} from "../../../src/builder/buildpacks/select.js";
import { BuildFailed } from "../../../src/errors.js";

describe("parseBuildpackRef", () => {
  it("knows bundled names, with heroku/ and paas/ prefixes", () => {
    expect(parseBuildpackRef("nodejs")).toEqual({ kind: "bundled", name: "nodejs" });
    expect(parseBuildpackRef(" heroku/python ")).toEqual({ kind: "bundled", name: "python" });
    expect(parseBuildpackRef("paas/static")).toEqual({ kind: "bundled", name: "static" });
    expect(parseBuildpackRef("heroku-buildpack-go")).toEqual({ kind: "bundled", name: "go" });
  });

  it("splits git URLs at #ref", () => {
    expect(parseBuildpackRef("https://github.com/heroku/heroku-buildpack-nodejs.git#v200")).toEqual({
      kind: "git",
      url: "https://github.com/heroku/heroku-buildpack-nodejs.git",
      ref: "v200",
    });
    expect(parseBuildpackRef("https://example.com/bp.git")).toEqual({
      kind: "git",
      url: "https://example.com/bp.git",
    });
    expect(parseBuildpackRef("git@example.com:team/bp.git#main")).toMatchObject({
      url: "git@example.com:team/bp.git",
      ref: "main",
    });
    expect(parseBuildpackRef("git+https://example.com/bp#feature/x")).toMatchObject({
      url: "https://example.com/bp",
      ref: "feature/x",
    });
  });

  it("records the host path of file:// URLs (mounted into the build)", () => {
    expect(parseBuildpackRef("file:///srv/my%20bp/#abc123")).toEqual({
      kind: "git",
      url: "file:///srv/my%20bp/",
      ref: "abc123",
      localPath: "/srv/my bp",
    });
  });

  it("rejects unknown names and odd refs with the options", () => {
    expect(() => parseBuildpackRef("ruby")).toThrow(
      /unknown buildpack "ruby".*nodejs, python, go, static, procfile/,
    );
    expect(() => parseBuildpackRef("https://x/y#a;rm -rf")).toThrow(BuildFailed);
    expect(() => parseBuildpackRef("  ")).toThrow(BuildFailed);
  });

  it("turns refs into runner arguments", () => {
    expect(runnerSpec(parseBuildpackRef("go"))).toBe("bundled:go");
    expect(runnerSpec(parseBuildpackRef("file:///bp#v1"))).toBe("git:file:///bp#v1");
  });
});

describe("parseBuildpacksFile", () => {
  it("reads one buildpack a line, skipping blanks and comments", () => {
    expect(
      parseBuildpacksFile("# first node\nnodejs\n\n  python  # then python\r\nhttps://x/bp.git#v1\n"),
    ).toEqual(["nodejs", "python", "https://x/bp.git#v1"]);
  });
});

describe("chooseBuildpacks", () => {
  const auto = BUNDLED_BUILDPACKS.map((b) => b.name);

  it("auto-detects over the bundled buildpacks in a fixed order", () => {
    const s = chooseBuildpacks({ config: {}, dotBuildpacks: null });
    expect(s.mode).toBe("auto");
    expect(s.source).toBe("auto-detect");
    expect(s.refs.map((r) => (r.kind === "bundled" ? r.name : r.url))).toEqual(auto);
    expect(auto).toEqual(["nodejs", "python", "go", "static", "procfile"]);
  });

  it("prefers the app setting, then BUILDPACK_URL, then .buildpacks", () => {
    const all = { config: { BUILDPACK_URL: "https://x/bp.git" }, dotBuildpacks: "python\n" };
    expect(chooseBuildpacks({ ...all, appBuildpacks: ["go", "static"] })).toMatchObject({
      mode: "all",
      source: "app setting",
      refs: [{ name: "go" }, { name: "static" }],
    });
    expect(chooseBuildpacks(all)).toMatchObject({
      mode: "all",
      source: "BUILDPACK_URL",
      refs: [{ url: "https://x/bp.git" }],
    });
    expect(chooseBuildpacks({ config: {}, dotBuildpacks: "nodejs\npython\n" })).toMatchObject({
      mode: "all",
      source: ".buildpacks",
      refs: [{ name: "nodejs" }, { name: "python" }],
    });
  });

  it("ignores an empty .buildpacks, empty app list and blank BUILDPACK_URL", () => {
    expect(
      chooseBuildpacks({ appBuildpacks: [], config: { BUILDPACK_URL: " " }, dotBuildpacks: "# none\n" })
        .source,
    ).toBe("auto-detect");
  });
});

describe("nothingDetected", () => {
  it("is a one-line BuildFailed; the list of what each bundled buildpack looks for is its details, once", () => {
    const err = nothingDetected();
    expect(err).toBeInstanceOf(BuildFailed);
    expect(err.message).not.toContain("\n");
    expect(err.message).toContain("BUILDPACK_URL");
    expect(err.message).not.toContain("package.json");
    expect(err.details?.[0]).toBe("No buildpack detected this app. The bundled buildpacks look for:");
    expect(err.details).toHaveLength(BUNDLED_BUILDPACKS.length + 1);
    expect(err.details?.filter((d) => d.includes("go.mod"))).toEqual(["  go        go.mod"]);
  });
});

describe("compileFailureReason", () => {
  it("is the buildpack's last ' !' line, skipping warnings and the runner's summary", () => {
    const lines = [
      "-----> Resolving Node.js version",
      " !     WARNING: something minor",
      ' !     engines.node "^99" cannot be satisfied: available Node versions are 18.20.4 (the stack) ...',
      " !     Build failed: Node.js bin/compile exited with 1",
    ];
    expect(compileFailureReason(1, lines)).toBe(
      'buildpack compile failed: engines.node "^99" cannot be satisfied: available Node versions are 18.20.4 (the stack) ...',
    );
  });

  it("falls back to the exit code when the buildpack said nothing", () => {
    expect(
      compileFailureReason(2, [
        "npm ERR! boom",
        " !     WARNING: minor",
        " !     Build failed: X bin/compile exited with 2",
      ]),
    ).toBe("buildpack compile failed (exit code 2); see the build output above");
  });
});
