import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Cli } from "../../src/cli/context.js";
import type { GitRemotes } from "../../src/cli/git-remotes.js";
import { bufferIo } from "../../src/cli/output.js";
import { runCli } from "../../src/cli/program.js";

// A file the user names (a key, a certificate) that cannot be read is explained in words,
// before any request: "no such file", not "ENOENT".

const git: GitRemotes = {
  insideWorkTree: async () => false,
  getUrl: async () => null,
  setUrl: async () => "unchanged",
  remove: async () => {},
};

async function paas(args: string[]) {
  const io = bufferIo();
  const env = { PAAS_API_URL: "http://127.0.0.1:9", PAAS_API_TOKEN: "t" };
  const cli: Cli = {
    io,
    env,
    home: os.tmpdir(),
    cwd: os.tmpdir(),
    git,
    now: () => new Date(),
    fetch: globalThis.fetch,
  };
  const code = await runCli(cli, ["node", "paas", ...args]);
  return { code, stderr: io.stderr() };
}

describe("a named file that cannot be read", () => {
  it("keys:add says there is no such file", async () => {
    const r = await paas(["keys:add", "/nonexistent/id.pub"]);
    expect(r).toEqual({
      code: 1,
      stderr: "error: cannot read the key file /nonexistent/id.pub: no such file\n",
    });
  });

  it("certs:add says which file and why", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-certs-"));
    try {
      const r = await paas(["certs:add", "/nonexistent/cert.pem", "/nonexistent/key.pem", "-a", "shop"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("error: cannot read the certificate file /nonexistent/cert.pem: no such file\n");
      const d = await paas(["certs:add", dir, dir, "-a", "shop"]);
      expect(d.stderr).toBe(
        `error: cannot read the certificate file ${dir}: it is a directory, not a file\n`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
