import type { Command } from "commander";
import { appOf, type Cli, clientOf, positiveInt, withAppOption } from "../context.js";

export async function logs(cli: Cli, app: string, opts: { num: number; tail?: boolean }): Promise<void> {
  const client = clientOf(cli);
  if (opts.tail) {
    // Runs until the server ends the stream or the user presses Ctrl-C.
    for await (const text of client.tailLogs(app, opts.num)) cli.io.write(text);
    return;
  }
  const text = await client.logs(app, opts.num);
  cli.io.write(text === "" || text.endsWith("\n") ? text : text + "\n");
}

export function registerLogs(program: Command, cli: Cli): void {
  withAppOption(program.command("logs"))
    .description("show the app's recent log lines (or follow them with --tail)")
    .option("-n, --num <lines>", "number of recent lines to show", positiveInt, 100)
    .option("-t, --tail", "keep printing new lines as they arrive (Ctrl-C to stop)")
    .action(async (opts) => logs(cli, await appOf(cli, opts.app), opts));
}
