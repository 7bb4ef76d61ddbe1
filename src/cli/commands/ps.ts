import type { Command } from "commander";
import type { Proc } from "../client.js";
import { appOf, type Cli, clientOf, withAppOption } from "../context.js";
import { formatSince, formatTable, json } from "../output.js";

export function processRows(processes: Proc[], now: Date): [string[], string[][]] {
  const rows = processes.map((p) => [
    p.name,
    p.state,
    p.release ?? "-",
    formatSince(p.startedAt, now),
    p.command ?? "",
  ]);
  return [["NAME", "STATE", "RELEASE", "SINCE", "COMMAND"], rows];
}

export async function ps(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const processes = await clientOf(cli).ps(app);
  if (opts.json) return cli.io.out(json(processes));
  if (processes.length === 0) {
    cli.io.out(`No processes are running for ${app}.`);
    return;
  }
  for (const line of formatTable(...processRows(processes, cli.now()))) cli.io.out(line);
}

export function registerPs(program: Command, cli: Cli): void {
  withAppOption(program.command("ps"))
    .description("list the app's processes")
    .option("--json", "print JSON")
    .action(async (opts) => ps(cli, await appOf(cli, opts.app), opts));
}
