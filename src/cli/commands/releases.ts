import type { Command } from "commander";
import type { Release } from "../client.js";
import { appOf, type Cli, clientOf, positiveInt, withAppOption } from "../context.js";
import { formatSince, formatTable, heading, json } from "../output.js";

export function releaseRows(releases: Release[], now: Date): [string[], string[][]] {
  const rows = releases.map((r) => [
    r.version,
    r.description ?? "",
    r.status ?? "",
    r.user ?? "",
    formatSince(r.createdAt, now),
  ]);
  return [["VERSION", "DESCRIPTION", "STATUS", "USER", "CREATED"], rows];
}

export async function releases(cli: Cli, app: string, opts: { num?: number; json?: boolean }): Promise<void> {
  const list = await clientOf(cli).releases(app, opts.num);
  if (opts.json) return cli.io.out(json(list));
  if (list.length === 0) {
    cli.io.out(`${app} has no releases yet. Deploy with: git push paas main`);
    return;
  }
  cli.io.out(heading(`${app} Releases`));
  for (const line of formatTable(...releaseRows(list, cli.now()))) cli.io.out(line);
}

export function registerReleases(program: Command, cli: Cli): void {
  withAppOption(program.command("releases"))
    .description("list the app's releases, newest first")
    .option("-n, --num <count>", "how many releases to show", positiveInt)
    .option("--json", "print JSON")
    .action(async (opts) => releases(cli, await appOf(cli, opts.app), opts));
}
