import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bare repositories under <dataDir>/repos/<app>.git, each with our pre-receive hook. */
export class Repos {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, "repos");
  }

  pathOf(app: string): string {
    return path.join(this.root, `${app}.git`);
  }

  exists(app: string): boolean {
    return fs.existsSync(path.join(this.pathOf(app), "HEAD"));
  }

  async create(app: string): Promise<void> {
    const dir = this.pathOf(app);
    await fsp.mkdir(this.root, { recursive: true });
    if (!this.exists(app)) {
      await run("git", ["init", "--bare", "--quiet", "--initial-branch=main", dir]);
    }
    // Pushes are over HTTP; these make receive-pack accept them and keep history honest.
    await run("git", ["-C", dir, "config", "http.receivepack", "true"]);
    await run("git", ["-C", dir, "config", "receive.denyNonFastForwards", "false"]);
    await this.installHook(app);
  }

  /** (Re)write the hook, so it always points at this installation's code. */
  async installHook(app: string): Promise<void> {
    const hookJs = fileURLToPath(new URL("./hook.js", import.meta.url));
    const script = `#!/bin/sh\n# Installed by paas: hands the push to the platform and streams the deploy.\nexec "${process.execPath}" "${hookJs}"\n`;
    const hookPath = path.join(this.pathOf(app), "hooks", "pre-receive");
    await fsp.mkdir(path.dirname(hookPath), { recursive: true });
    await fsp.writeFile(hookPath, script, { mode: 0o755 });
  }

  async remove(app: string): Promise<void> {
    await fsp.rm(this.pathOf(app), { recursive: true, force: true });
  }
}
