import { describe, expect, it } from "vitest";
import type { Cli } from "../../src/cli/context.js";
import type { GitRemotes } from "../../src/cli/git-remotes.js";
import { bufferIo } from "../../src/cli/output.js";
import { runCli } from "../../src/cli/program.js";

// A new user's slip: the app as a positional argument (`paas ps shop`) to a command that takes
// it as -a. Commander refuses it before any request; the error must say what to do.

const git: GitRemotes = {
  insideWorkTree: async () => false,
  getUrl: async () => null,
  setUrl: async () => "unchanged",
  remove: async () => {},
};

async function paas(args: string[]) {
  const io = bufferIo();
  const cli: Cli = {
    io,
    env: {},
    home: "/nonexistent",
    cwd: "/",
    git,
    now: () => new Date(),
    fetch: globalThis.fetch,
  };
  const code = await runCli(cli, ["node", "paas", ...args]);
  return { code, stderr: io.stderr() };
}

describe("an app given as an argument to a command that takes -a", () => {
  it("names -a in the one-line error", async () => {
    for (const cmd of ["ps", "apps:info", "config", "releases"]) {
      const r = await paas([cmd, "shop"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: too many arguments for '${cmd}'. Expected 0 arguments but got 1. Give the app with -a: paas ${cmd} -a APP\n`,
      );
    }
  });

  it("leaves other excess-argument errors as they are", async () => {
    const r = await paas(["login", "extra"]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("-a APP");
  });
});
