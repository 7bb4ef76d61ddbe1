import type { Command } from "commander";
import { invalid } from "../../errors.js";
import type { Formation, FormationChange, Proc } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { formatTable, formatUptime, json } from "../output.js";
import { withMetricsColumns } from "../ps-metrics.js";
import { withNodeColumn } from "./nodes.js";
import { psReport, withReportColumns } from "./plugins.js";

// Process types are Procfile names (see src/builder/procfile.ts), stored in lower case.
const TYPE = "[A-Za-z0-9_-]+";
// Greedy, so a dash inside a type name stays part of it: "my-worker-1" is my-worker minus 1.
const SCALE = new RegExp(`^(${TYPE})([=+-])(\\d+)$`);
const TARGET = new RegExp(`^(${TYPE})(?:\\.([1-9]\\d*))?$`);

const SCALE_USAGE = "use TYPE=N, TYPE+N or TYPE-N with N a whole number, e.g. paas ps:scale web=2 worker+1";

/** ["web=3", "worker+1"] -> {web: "3", worker: "+1"}, the body of PATCH /formation. */
export function parseScale(args: string[]): FormationChange {
  const change: FormationChange = {};
  for (const arg of args) {
    const match = SCALE.exec(arg);
    if (!match || !Number.isSafeInteger(Number(match[3]))) {
      throw invalid(`"${arg}" is not a scale: ${SCALE_USAGE}`);
    }
    const type = match[1].toLowerCase();
    if (Object.hasOwn(change, type)) throw invalid(`${type} is scaled twice: give each process type once`);
    change[type] = `${match[2] === "=" ? "" : match[2]}${Number(match[3])}`;
  }
  return change;
}

export function parseProcessType(raw: string): string {
  if (!new RegExp(`^${TYPE}$`).test(raw)) {
    throw invalid(`"${raw}" is not a process type: give a Procfile name like web or worker`);
  }
  return raw.toLowerCase();
}

/** "web" or "web.2"; `needIndex` for commands about one process. */
export function parseTarget(raw: string, needIndex: boolean): string {
  const match = TARGET.exec(raw);
  if (!match || (needIndex && match[2] === undefined)) {
    throw invalid(
      needIndex
        ? `"${raw}" is not a process: give TYPE.N as paas ps lists it, e.g. web.1`
        : `"${raw}" is not a process type or process: give TYPE or TYPE.N, e.g. web or web.1`,
    );
  }
  return match[2] === undefined ? match[1].toLowerCase() : `${match[1].toLowerCase()}.${match[2]}`;
}

/** "web at 3, worker at 2" for the types asked about (all of them when none were). */
export function describeFormation(formation: Formation, types: string[] = Object.keys(formation)): string {
  const asked = types.filter((type) => Object.hasOwn(formation, type));
  const shown = asked.length ? asked : Object.keys(formation);
  return shown.map((type) => `${type} at ${formation[type]}`).join(", ");
}

// Uptime of a crashed or stopped container would be the time since it last started,
// which reads as if it were still running.
const RUNNING = new Set(["up", "starting"]);

export function processRows(processes: Proc[], now: Date): [string[], string[][]] {
  const rows = processes.map((p) => [
    p.name,
    p.state,
    RUNNING.has(p.state) ? formatUptime(p.startedAt, now) : "-",
    p.release ?? "-",
    String(p.restarts ?? 0),
    p.command ?? "",
  ]);
  return [["NAME", "STATE", "UPTIME", "RELEASE", "RESTARTS", "COMMAND"], rows];
}

export async function ps(cli: Cli, app: string, opts: { json?: boolean; watch?: boolean }): Promise<void> {
  for (;;) {
    const processes = await clientOf(cli).ps(app);
    if (opts.json) cli.io.out(json(processes));
    else if (processes.length === 0) cli.io.out(`No processes are running for ${app}.`);
    else {
      // --watch redraws in place on a terminal (clear screen, cursor home).
      if (opts.watch) cli.io.write("\x1b[2J\x1b[H");
      const report = await psReport(cli, app);
      const rows = withMetricsColumns(processRows(processes, cli.now()), processes);
      const table = withNodeColumn(rows, processes);
      for (const line of formatTable(...withReportColumns(table, report))) cli.io.out(line);
      if (report.lines.length > 0) cli.io.out("");
      for (const line of report.lines) cli.io.out(line);
    }
    if (!opts.watch) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export async function scale(cli: Cli, app: string, args: string[], opts: { json?: boolean }): Promise<void> {
  const client = clientOf(cli);
  if (args.length === 0) {
    const formation = await client.formation(app);
    if (opts.json) return cli.io.out(json(formation));
    const types = Object.keys(formation);
    if (types.length === 0) {
      cli.io.out(`${app} has no process types yet. Deploy with: git push paas main`);
      return;
    }
    cli.io.out(types.map((type) => `${type}=${formation[type]}`).join(" "));
    return;
  }
  const change = parseScale(args);
  if (opts.json) return cli.io.out(json(await client.scale(app, change)));
  await progress(
    cli.io,
    "Scaling dynos",
    () => client.scale(app, change),
    ({ formation }) => `done, now running ${describeFormation(formation, Object.keys(change))}`,
  );
}

export async function restart(cli: Cli, app: string, target: string | undefined): Promise<void> {
  const which = target === undefined ? undefined : parseTarget(target, false);
  const client = clientOf(cli);
  await progress(
    cli.io,
    `Restarting ${which ?? "all processes"} of ${app}`,
    () => client.restart(app, which),
    ({ restarted }) =>
      restarted.length ? `done, restarted ${restarted.join(", ")}` : "done, nothing was running",
  );
}

export async function stop(cli: Cli, app: string, target: string): Promise<void> {
  const which = parseTarget(target, true);
  const client = clientOf(cli);
  await progress(cli.io, `Stopping ${which} of ${app}`, () => client.stop(app, which));
}

export function registerPs(program: Command, cli: Cli): void {
  withAppOption(program.command("ps"))
    .description("list the app's processes with live CPU and memory")
    .option("--json", "print JSON")
    .option("-w, --watch", "refresh every 2 seconds until Ctrl-C")
    .action(async (opts) => ps(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("ps:scale [changes...]"))
    .description("scale process types (web=3 worker+1 web-1), or show the formation")
    .option("--json", "print JSON")
    .action(async (changes, opts) => scale(cli, await appOf(cli, opts.app), changes, opts));
  withAppOption(program.command("ps:restart [target]"))
    .description("restart all processes, one type (web) or one process (web.1)")
    .action(async (target, opts) => restart(cli, await appOf(cli, opts.app), target));
  withAppOption(program.command("ps:stop <process>"))
    .description("stop one process (web.1)")
    .action(async (target, opts) => stop(cli, await appOf(cli, opts.app), target));
}
