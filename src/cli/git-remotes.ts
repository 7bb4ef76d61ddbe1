import { execFile } from "node:child_process";

// The few git commands the CLI runs in the user's working tree: read, add, update and
// remove a remote. Always execFile with an argument array, never a shell string.

export interface GitRemotes {
  insideWorkTree(cwd: string): Promise<boolean>;
  /** The remote's URL, or null when there is no such remote (or no repository, or no git). */
  getUrl(cwd: string, remote: string): Promise<string | null>;
  /** Add the remote or point it at `url`. */
  setUrl(cwd: string, remote: string, url: string): Promise<"added" | "updated" | "unchanged">;
  remove(cwd: string, remote: string): Promise<void>;
}

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim().split("\n")[0] || err.message;
        reject(new Error(`git ${args.join(" ")} failed: ${detail}`));
      } else {
        resolve(String(stdout));
      }
    });
  });
}

export const systemGit: GitRemotes = {
  async insideWorkTree(cwd) {
    try {
      return (await git(cwd, ["rev-parse", "--is-inside-work-tree"])).trim() === "true";
    } catch {
      return false;
    }
  },
  async getUrl(cwd, remote) {
    try {
      return (await git(cwd, ["remote", "get-url", remote])).trim() || null;
    } catch {
      return null;
    }
  },
  async setUrl(cwd, remote, url) {
    const current = await systemGit.getUrl(cwd, remote);
    if (current === url) return "unchanged";
    if (current === null) {
      await git(cwd, ["remote", "add", remote, url]);
      return "added";
    }
    await git(cwd, ["remote", "set-url", remote, url]);
    return "updated";
  },
  async remove(cwd, remote) {
    await git(cwd, ["remote", "remove", remote]);
  },
};
