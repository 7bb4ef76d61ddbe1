import { describe, expect, it } from "vitest";
import { parseManifest, topicOf } from "../../../src/plugins/manifest.js";

const ok = {
  name: "example",
  version: "1.0.0",
  triggers: ["post-deploy"],
  commands: [{ name: "example:hello", run: "commands/hello", args: [{ name: "WHO", optional: true }] }],
  settings: [{ name: "EXAMPLE_GREETING", default: "hi" }],
};

const parse = (m: unknown) => parseManifest(JSON.stringify(m));

describe("plugin manifest", () => {
  it("fills defaults", () => {
    const m = parse(ok);
    expect(m.description).toBe("");
    expect(m.commands[0]).toMatchObject({ app: "required", admin: false, worker: false, flags: [] });
    expect(m.commands[0].args[0]).toMatchObject({ name: "WHO", optional: true, variadic: false });
    expect(topicOf(m.commands[0].name)).toBe("example");
  });

  it("names the field that is wrong", () => {
    expect(() => parseManifest("{")).toThrow(/plugin.json is not valid JSON/);
    expect(() => parse({ ...ok, name: "Bad Name" })).toThrow(/plugin.json: name: a lowercase name/);
    expect(() => parse({ ...ok, version: undefined })).toThrow(/version/);
    expect(() => parse({ ...ok, triggers: ["pre-lunch"] })).toThrow(
      /"pre-lunch" is not in the trigger catalog/,
    );
    expect(() => parse({ ...ok, commands: [{ name: "Hello World", run: "x" }] })).toThrow(
      /commands\.0\.name/,
    );
    expect(() => parse({ ...ok, settings: [{ name: "lower" }] })).toThrow(/settings\.0\.name/);
  });

  it("needs a handler for each command and keeps paths inside the plugin", () => {
    expect(() => parse({ ...ok, commands: [{ name: "example:x" }] })).toThrow(/needs "run"/);
    expect(() => parse({ ...ok, commands: [{ name: "example:x", run: "../../bin/sh" }] })).toThrow(
      /inside the plugin/,
    );
    expect(() => parse({ ...ok, module: "/etc/passwd" })).toThrow(/inside the plugin/);
    expect(parse({ ...ok, module: "index.js", commands: [{ name: "example:x" }] }).module).toBe("index.js");
  });

  it("rejects duplicate commands and a variadic argument that is not last", () => {
    const c = { name: "example:x", run: "x" };
    expect(() => parse({ ...ok, commands: [c, c] })).toThrow(/declared twice/);
    expect(() =>
      parse({
        ...ok,
        commands: [{ ...c, args: [{ name: "A", variadic: true }, { name: "B" }] }],
      }),
    ).toThrow(/only the last argument may be variadic/);
  });
});
