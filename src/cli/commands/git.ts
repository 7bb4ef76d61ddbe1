import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { DEFAULT_REMOTE } from "../app-resolve.js";
import { appOf, type Cli, clientOf, withAppOption } from "../context.js";

export async function gitRemote(cli: Cli, app: string, opts: { remote: string }): Promise<void> {
  if (!(await cli.git.insideWorkTree(cli.cwd))) {
    throw invalid("not inside a git repository: cd into your app's repository (or run git init) first");
  }
  const info = await clientOf(cli).getApp(app);
  await cli.git.setUrl(cli.cwd, opts.remote, info.gitUrl);
  cli.io.out(`set git remote ${opts.remote} to ${info.gitUrl}`);
}

export function registerGit(program: Command, cli: Cli): void {
  withAppOption(program.command("git:remote"))
    .description("add (or update) a git remote for an app in the current repository")
    .option("-r, --remote <remote>", "name of the git remote", DEFAULT_REMOTE)
    .action(async (opts) => gitRemote(cli, await appOf(cli, opts.app), opts));
}
