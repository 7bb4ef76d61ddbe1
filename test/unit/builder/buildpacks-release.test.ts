import { describe, expect, it } from "vitest";
import { mergeProcessTypes, parseReleaseYaml } from "../../../src/builder/buildpacks/release.js";
import { BuildFailed } from "../../../src/errors.js";

describe("parseReleaseYaml", () => {
  it("reads default_process_types as a block map", () => {
    const yaml =
      "---\naddons: []\nconfig_vars:\n  FOO: bar\ndefault_process_types:\n  web: npm start\n  worker: node worker.js --queue=a:b\n";
    expect(parseReleaseYaml(yaml)).toEqual({ web: "npm start", worker: "node worker.js --queue=a:b" });
  });

  it("stops at the next top-level key and skips comments", () => {
    const yaml = "default_process_types:\n  # the web\n  web: bin/web\n\naddons:\n  - x\n";
    expect(parseReleaseYaml(yaml)).toEqual({ web: "bin/web" });
  });

  it("unquotes values and keys", () => {
    const yaml =
      "default_process_types:\n  \"web\": \"gunicorn app:app --bind 0.0.0.0:$PORT\"\n  'clock': 'echo ''hi'''\n";
    expect(parseReleaseYaml(yaml)).toEqual({
      web: "gunicorn app:app --bind 0.0.0.0:$PORT",
      clock: "echo 'hi'",
    });
  });

  it("reads flow maps and empty documents", () => {
    expect(parseReleaseYaml("--- {}")).toEqual({});
    expect(parseReleaseYaml("")).toEqual({});
    expect(parseReleaseYaml("default_process_types: {}\n")).toEqual({});
    expect(parseReleaseYaml('default_process_types: { web: "a, b", worker: c }\n')).toEqual({
      web: "a, b",
      worker: "c",
    });
    expect(parseReleaseYaml("default_process_types:\n")).toEqual({});
  });

  it("rejects what it cannot read, naming the buildpack", () => {
    expect(() => parseReleaseYaml("default_process_types: web\n", "custom bin/release")).toThrow(
      /custom bin\/release: default_process_types must be a map/,
    );
    expect(() => parseReleaseYaml("default_process_types:\n  - web\n")).toThrow(BuildFailed);
  });
});

describe("mergeProcessTypes", () => {
  it("lets later buildpacks and then the Procfile win", () => {
    expect(
      mergeProcessTypes([{ web: "npm start", worker: "node w.js" }, { web: "python app.py" }], {
        worker: "./work",
        clock: "./tick",
      }),
    ).toEqual({ web: "python app.py", worker: "./work", clock: "./tick" });
  });

  it("drops empty commands", () => {
    expect(mergeProcessTypes([{ web: "" }], null)).toEqual({});
  });
});
