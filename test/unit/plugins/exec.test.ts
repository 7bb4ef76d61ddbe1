import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { messageFrom, PluginTimeout, runExecutable } from "../../../src/plugins/exec.js";

// The executable trigger protocol on real processes: argv, JSON on stdin, stdout, exit code, timeout.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-plugin-exec-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const opts = (timeoutMs = 5000) => ({
  input: JSON.stringify({ app: "demo", n: 1 }),
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GREETING: "hi" },
  cwd: dir,
  timeoutMs,
  what: "plugin t trigger pre-deploy",
});

describe("executable triggers", () => {
  it("get argv, JSON on stdin and the environment; answer on stdout", async () => {
    const f = script("echo", 'echo "$1 $2 $GREETING"; cat');
    const r = await runExecutable(f, ["demo", "v3"], opts());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('demo v3 hi\n{"app":"demo","n":1}');
  });

  it("a non-zero exit carries stderr as the message", async () => {
    const f = script("veto", 'echo "not today" >&2; exit 3');
    const r = await runExecutable(f, [], opts());
    expect(r.code).toBe(3);
    expect(messageFrom(r.stderr, "exit 3")).toBe("not today");
    expect(messageFrom("", "exit 3")).toBe("exit 3");
  });

  it("a hanging one is killed with its children at the timeout, with a clear message", async () => {
    const f = script("hang", "sleep 30 & sleep 30; wait");
    const err = await runExecutable(f, [], opts(300)).catch((e) => e);
    expect(err).toBeInstanceOf(PluginTimeout);
    expect(err.message).toBe(
      "plugin t trigger pre-deploy did not finish within 0.3s (PAAS_PLUGIN_TIMEOUT) and was stopped",
    );
  });

  it("one that cannot start is an error naming it", async () => {
    await expect(runExecutable(path.join(dir, "missing"), [], opts())).rejects.toThrow(
      /plugin t trigger pre-deploy could not start/,
    );
  });
});
