import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { formatColoured, formatLine, type LogLine } from "../../logs/line.js";
import { appOf, type Cli, clientOf, positiveInt, withAppOption } from "../context.js";
import { type LogQuery, type StreamLine, streamLines } from "../log-stream.js";
import { formatTable, json, stdio } from "../output.js";

interface LogOpts {
  num: number;
  tail?: boolean;
  processType?: string;
  dyno?: string;
  source?: string;
  json?: boolean;
}

/** Colour only on a terminal, and never with NO_COLOR (https://no-color.org). */
export function useColour(cli: Cli): boolean {
  return cli.io === stdio && Boolean(process.stdout.isTTY) && !cli.env.NO_COLOR;
}

export function printLine(l: StreamLine, opts: { json?: boolean; colour: boolean }): string {
  if (opts.json)
    return JSON.stringify({ ts: l.ts, source: l.source, process: l.process, message: l.message });
  const line: LogLine = { ts: l.ts, source: l.source, process: l.process, message: l.message };
  return opts.colour ? formatColoured(line) : formatLine(line);
}

function checkFilters(opts: LogOpts): void {
  if (opts.processType !== undefined && !/^[a-z0-9_-]+$/i.test(opts.processType))
    throw invalid(`"${opts.processType}" is not a process type: give one like web or worker`);
  if (opts.dyno !== undefined && !/^[a-z0-9_-]+\.\d+$/i.test(opts.dyno))
    throw invalid(`"${opts.dyno}" is not a dyno: give TYPE.N such as web.1`);
  if (opts.source !== undefined && opts.source !== "app" && opts.source !== "paas")
    throw invalid(`--source must be app or paas (got "${opts.source}")`);
}

export async function logs(
  cli: Cli,
  app: string,
  opts: LogOpts,
  what: "logs" | "events" = "logs",
): Promise<void> {
  checkFilters(opts);
  const colour = !opts.json && useColour(cli);
  const q: LogQuery = {
    num: opts.num,
    tail: opts.tail,
    processType: opts.processType,
    dyno: opts.dyno,
    source: opts.source,
  };
  // Runs until the server ends the stream or the user presses Ctrl-C.
  for await (const l of streamLines(clientOf(cli), app, q, what))
    cli.io.out(printLine(l, { json: opts.json, colour }));
}

interface DrainInfo {
  url: string;
  token: string;
  delivered: number;
  dropped: number;
  lastError: string | null;
}

export async function drains(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const list = await clientOf(cli).json<DrainInfo[]>("GET", `/apps/${encodeURIComponent(app)}/drains`);
  if (opts.json) return cli.io.out(json(list));
  if (list.length === 0) {
    cli.io.out(`${app} has no log drains. Add one with: paas drains:add syslog+tls://host:port`);
    return;
  }
  const rows = list.map((d) => [d.url, d.token, String(d.delivered), String(d.dropped), d.lastError ?? "-"]);
  for (const line of formatTable(["URL", "TOKEN", "DELIVERED", "DROPPED", "LAST ERROR"], rows))
    cli.io.out(line);
}

export function registerLogs(program: Command, cli: Cli): void {
  const logOptions = (cmd: Command) =>
    withAppOption(cmd)
      .option("-n, --num <lines>", "number of recent lines to show", positiveInt, 100)
      .option("-t, --tail", "keep printing new lines as they arrive (Ctrl-C to stop)")
      .option("--json", "one JSON object per line");
  logOptions(program.command("logs"))
    .description("show the app's log stream: its output, router lines and platform events")
    .option("-p, --process-type <type>", "only this process type (web)")
    .option("-d, --dyno <dyno>", "only this process (web.1)")
    .option("-s, --source <source>", "only app (its output) or paas (router and events)")
    .action(async (opts) => logs(cli, await appOf(cli, opts.app), opts));
  logOptions(program.command("events"))
    .description("show the app's platform events alone (deploys, releases, scaling, restarts)")
    .action(async (opts) => logs(cli, await appOf(cli, opts.app), opts, "events"));
  withAppOption(program.command("drains"))
    .description("list the app's log drains with delivered and dropped lines")
    .option("--json", "print JSON")
    .action(async (opts) => drains(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("drains:add <url>"))
    .description("send the app's log to syslog://, syslog+tls://, syslog+udp:// or https://")
    .action(async (url: string, opts) => {
      const app = await appOf(cli, opts.app);
      const d = await clientOf(cli).json<{ url: string; token: string }>(
        "POST",
        `/apps/${encodeURIComponent(app)}/drains`,
        {
          url,
        },
      );
      cli.io.out(`Successfully added drain ${d.url} (token ${d.token})`);
    });
  withAppOption(program.command("drains:remove <url>"))
    .description("stop sending the app's log to a drain")
    .action(async (url: string, opts) => {
      const app = await appOf(cli, opts.app);
      await clientOf(cli).send(
        "DELETE",
        `/apps/${encodeURIComponent(app)}/drains?url=${encodeURIComponent(url)}`,
      );
      cli.io.out(`Successfully removed drain ${url}`);
    });
}
