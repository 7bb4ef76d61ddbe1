import fsp from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { ApiClient } from "../client.js";
import { appOf, type Cli, clientOf, withAppOption } from "../context.js";
import { loadCredentials } from "../credentials.js";
import { formatTable, json } from "../output.js";
import { runAttached } from "../run-session.js";
import { CommandExit } from "./run.js";

// `paas plugins*` (admin) and the commands plugins add. The CLI knows plugin commands only
// by asking the API (GET /plugins/commands) and runs them through it: plugin code never runs
// on this machine. They are fetched only when the command typed is not a built-in one (or
// for `paas help`), and an unreachable API leaves just the built-in commands.

/** A command as GET /api/v1/plugins/commands lists it (the manifest's, with its plugin). */
export interface PluginCommand {
  plugin: string;
  name: string;
  description: string;
  args: { name: string; description: string; optional: boolean; variadic: boolean }[];
  flags: { name: string; description: string; value: boolean }[];
  app: "required" | "optional" | "none";
  admin: boolean;
}

interface PluginInfo {
  name: string;
  version: string;
  description: string;
  enabled: boolean;
  bundled: boolean;
  source: string | null;
}

const seg = encodeURIComponent;

export function formatPlugins(list: PluginInfo[]): string[] {
  return formatTable(
    ["Name", "Version", "State", "From", "Description"],
    list.map((p) => [
      p.name,
      p.version,
      p.enabled ? "enabled" : "disabled",
      p.bundled ? "bundled" : (p.source ?? ""),
      p.description,
    ]),
  );
}

export function registerPlugins(program: Command, cli: Cli): void {
  program
    .command("plugins")
    .description("list plugins: bundled and installed, enabled or not (admin)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = await clientOf(cli).json<PluginInfo[]>("GET", "/plugins");
      if (opts.json) return cli.io.out(json(list));
      for (const line of formatPlugins(list)) cli.io.out(line);
    });
  program
    .command("plugins:install")
    .description(
      "install a plugin from a git URL (https://, file://, git@host:repo) or a directory on the server (admin)",
    )
    .argument("<source>", "git URL or absolute path on the server")
    .action(async (source: string) => {
      const p = await clientOf(cli).json<{ name: string; version: string }>("POST", "/plugins", { source });
      cli.io.out(`Installed ${p.name} ${p.version} (enabled)`);
    });
  for (const verb of ["enable", "disable"] as const) {
    program
      .command(`plugins:${verb}`)
      .description(`${verb} a plugin (admin)`)
      .argument("<name>")
      .action(async (name: string) => {
        await clientOf(cli).json("POST", `/plugins/${seg(name)}/${verb}`);
        cli.io.out(`${verb === "enable" ? "Enabled" : "Disabled"} ${name}`);
      });
  }
  program
    .command("plugins:uninstall")
    .description("remove an installed plugin (bundled ones can only be disabled) (admin)")
    .argument("<name>")
    .action(async (name: string) => {
      await clientOf(cli).json("DELETE", `/plugins/${seg(name)}`);
      cli.io.out(`Uninstalled ${name}`);
    });
}

/**
 * Whether argv asks for something the built-in commands do not know (a plugin command) or
 * for the full help: only then the API is asked for plugin commands.
 */
export function wantsPluginCommands(program: Command, argv: string[]): boolean {
  const words = argv.slice(2);
  const first = words.find((w) => !w.startsWith("-"));
  if (first === undefined) return words.includes("--help") || words.includes("-h") || words.length === 0;
  if (first === "help") return true;
  return !program.commands.some((c) => c.name() === first || c.aliases().includes(first));
}

/** The plugin commands from the API, or [] (and why) when it cannot be asked. */
export async function fetchPluginCommands(
  cli: Cli,
): Promise<{ commands: PluginCommand[]; problem?: string }> {
  try {
    const creds = loadCredentials(cli.env, cli.home);
    const timed: typeof fetch = (input, init) =>
      cli.fetch(input, { ...init, signal: AbortSignal.timeout(5000) });
    const client = new ApiClient(creds.api, creds.token, timed);
    return { commands: await client.json<PluginCommand[]>("GET", "/plugins/commands") };
  } catch (err) {
    return { commands: [], problem: err instanceof Error ? err.message : String(err) };
  }
}

/** Register each plugin command (not shadowing a built-in one) so commander parses and helps with it. */
export function registerPluginCommands(program: Command, cli: Cli, commands: PluginCommand[]): void {
  const taken = new Set(program.commands.map((c) => c.name()));
  for (const spec of commands) {
    if (taken.has(spec.name)) continue;
    taken.add(spec.name);
    let cmd = program
      .command(spec.name)
      .description(`${spec.description}${spec.admin ? " (admin)" : ""} [plugin ${spec.plugin}]`);
    for (const a of spec.args) {
      const name = `${a.name}${a.variadic ? "..." : ""}`;
      cmd = cmd.argument(a.optional || a.variadic ? `[${name}]` : `<${name}>`, a.description);
    }
    for (const f of spec.flags)
      cmd = cmd.option(f.value ? `--${f.name} <value>` : `--${f.name}`, f.description);
    if (spec.app !== "none") cmd = withAppOption(cmd);
    cmd.option("--json", "print the command's data as JSON");
    if (!spec.flags.some((f) => f.name === "output"))
      cmd.option("-o, --output <file>", "where a file the command answers with goes (default: stdout)");
    cmd.action(async (...params: unknown[]) => {
      const opts = params[spec.args.length] as Record<string, unknown>;
      const args = spec.args.flatMap((_, i) => {
        const v = params[i];
        return Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];
      });
      const flags: Record<string, string | boolean> = {};
      for (const f of spec.flags) {
        const v = opts[camel(f.name)];
        if (v !== undefined) flags[f.name] = v as string | boolean;
      }
      let app: string | undefined;
      if (spec.app === "required") app = await appOf(cli, opts.app as string | undefined);
      else if (spec.app === "optional")
        app = await appOf(cli, opts.app as string | undefined).catch(() => undefined);
      const answer = await clientOf(cli).send(
        "POST",
        `/plugins/${seg(spec.plugin)}/commands/${seg(spec.name)}`,
        { app, args, flags },
      );
      // A file answer (a backup, a report): to -o FILE, to the path the user gave in one of
      // the command's flags (scan:report --html FILE), else to stdout.
      const fileName = answer.headers.get("x-paas-file");
      if (fileName) {
        const given = Object.values(flags).find(
          (v) => typeof v === "string" && path.basename(v) === fileName,
        );
        const dest = (opts.output as string | undefined) ?? (given as string | undefined);
        const bytes = Buffer.from(await answer.arrayBuffer());
        if (dest) {
          await fsp.writeFile(dest, bytes);
          return cli.io.err(`Wrote ${bytes.length} bytes to ${dest}`);
        }
        // Bytes, not text (a pg_dump): straight to stdout, past the line-oriented Io.
        await new Promise<void>((resolve, reject) =>
          process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())),
        );
        return;
      }
      const res = (await answer.json()) as { output: string; data: unknown; run?: PluginRun | null };
      if (opts.json) return cli.io.out(json(res.data));
      if (res.output) cli.io.write(res.output.endsWith("\n") ? res.output : `${res.output}\n`);
      if (res.run && app) await runPluginSession(cli, app, res.run);
    });
  }
}

/** A one-off a plugin command asks the CLI to run attached (pg:psql): `paas run` on a service image. */
interface PluginRun {
  image: string;
  command: string;
  env?: Record<string, string>;
}

async function runPluginSession(cli: Cli, app: string, r: PluginRun): Promise<void> {
  const term = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const tty = Boolean(term.stdin.isTTY) && Boolean(term.stdout.isTTY);
  const creds = loadCredentials(cli.env, cli.home);
  const code = await runAttached({
    api: creds.api,
    token: creds.token,
    app,
    term,
    request: {
      command: r.command,
      image: r.image,
      tty,
      env: r.env ?? {},
      memory: null,
      cols: tty ? (term.stdout.columns ?? null) : null,
      rows: tty ? (term.stdout.rows ?? null) : null,
      term: tty ? (cli.env.TERM ?? null) : null,
    },
  });
  if (code !== 0) throw new CommandExit(code);
}

/** commander's option key for a flag: --dry-run -> dryRun. */
function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Before parsing: add the plugin commands when argv needs them; say why when they could not be had. */
export async function addPluginCommands(program: Command, cli: Cli, argv: string[]): Promise<void> {
  if (!wantsPluginCommands(program, argv)) return;
  const { commands, problem } = await fetchPluginCommands(cli);
  registerPluginCommands(program, cli, commands);
  const first = argv.slice(2).find((w) => !w.startsWith("-"));
  if (problem && first && first !== "help" && !program.commands.some((c) => c.name() === first)) {
    cli.io.err(`note: plugin commands are not listed (could not ask the API: ${problem})`);
  }
}

/** What plugins add to `paas ps` (GET /apps/:app/ps/report). */
export interface PsReport {
  columns: Record<string, Record<string, string>>;
  lines: string[];
}

/** Ask for the plugins' part of `paas ps`; an older API without it (or an error) adds nothing. */
export async function psReport(cli: Cli, app: string): Promise<PsReport> {
  const r = await clientOf(cli)
    .json<Partial<PsReport>>("GET", `/apps/${seg(app)}/ps/report`)
    .catch(() => null);
  const columns = r?.columns && typeof r.columns === "object" && !Array.isArray(r.columns) ? r.columns : {};
  return { columns, lines: Array.isArray(r?.lines) ? r.lines.map(String) : [] };
}

/** The ps table with the plugins' columns added (rows are keyed by their first cell, the process name). */
export function withReportColumns(
  [headers, rows]: [string[], string[][]],
  report: PsReport,
): [string[], string[][]] {
  const extra = [...new Set(Object.values(report.columns).flatMap((c) => Object.keys(c)))];
  if (extra.length === 0) return [headers, rows];
  return [
    [...headers, ...extra.map((h) => h.toUpperCase())],
    rows.map((row) => [...row, ...extra.map((h) => report.columns[row[0]]?.[h] ?? "")]),
  ];
}
