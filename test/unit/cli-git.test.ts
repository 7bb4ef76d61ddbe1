import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveApp } from "../../src/cli/app-resolve.js";
import { systemGit } from "../../src/cli/git-remotes.js";

// The CLI's git calls against the real git binary in a throw-away repository.

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-cli-git-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("systemGit", () => {
  it("knows when it is not in a repository", async () => {
    expect(await systemGit.insideWorkTree(dir)).toBe(false);
    expect(await systemGit.getUrl(dir, "paas")).toBeNull();
  });

  it("adds, updates, reads and removes a remote", async () => {
    execFileSync("git", ["init", "-q", dir]);
    expect(await systemGit.insideWorkTree(dir)).toBe(true);
    expect(await systemGit.getUrl(dir, "paas")).toBeNull();

    expect(await systemGit.setUrl(dir, "paas", "http://h:1/git/one.git")).toBe("added");
    expect(await systemGit.setUrl(dir, "paas", "http://h:1/git/one.git")).toBe("unchanged");
    expect(await systemGit.setUrl(dir, "paas", "http://h:1/git/two.git")).toBe("updated");
    expect(await resolveApp(undefined, dir, systemGit)).toBe("two");

    await systemGit.remove(dir, "paas");
    expect(await systemGit.getUrl(dir, "paas")).toBeNull();
  });

  it("finds the repository from a subdirectory", async () => {
    execFileSync("git", ["init", "-q", dir]);
    await systemGit.setUrl(dir, "paas", "http://h:1/git/sub-app.git");
    const sub = path.join(dir, "src", "deep");
    fs.mkdirSync(sub, { recursive: true });
    expect(await resolveApp(undefined, sub, systemGit)).toBe("sub-app");
  });
});
