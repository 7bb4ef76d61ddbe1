import fs from "node:fs";
import { Command, CommanderError } from "commander";
import { isPaasError } from "../errors.js";
import { registerAppMoves } from "./commands/app-moves.js";
import { registerApps } from "./commands/apps.js";
import { registerAuth } from "./commands/auth.js";
import { registerBuildpacks } from "./commands/buildpacks.js";
import { registerCerts } from "./commands/certs.js";
import { registerChecks } from "./commands/checks.js";
import { registerConfig } from "./commands/config.js";
import { registerCron } from "./commands/cron.js";
import { registerDomains } from "./commands/domains.js";
import { registerGit } from "./commands/git.js";
import { registerKeys } from "./commands/keys.js";
import { registerLogs } from "./commands/logs.js";
import { registerNodes } from "./commands/nodes.js";
import { addPluginCommands, registerPlugins } from "./commands/plugins.js";
import { registerPs } from "./commands/ps.js";
import { registerReleases } from "./commands/releases.js";
import { registerResources } from "./commands/resources.js";
import { registerRouter } from "./commands/router.js";
import { CommandExit, registerRun } from "./commands/run.js";
import { registerServer } from "./commands/server.js";
import { registerStack } from "./commands/stack.js";
import { registerUsers } from "./commands/users.js";
import type { Cli } from "./context.js";

export function buildProgram(cli: Cli): Command {
  const program = new Command("paas")
    .description("Heroku-style platform: git push to a running, routed web app")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("--verbose", "show stack traces on errors")
    .configureHelp({ sortSubcommands: true })
    .configureOutput({
      writeOut: (text) => cli.io.write(text),
      writeErr: (text) => cli.io.err(withAppHint(program, text.replace(/\n$/, ""))),
    })
    .showSuggestionAfterError();
  registerAuth(program, cli);
  registerApps(program, cli);
  registerAppMoves(program, cli);
  registerGit(program, cli);
  registerConfig(program, cli);
  registerPs(program, cli);
  registerLogs(program, cli);
  registerRun(program, cli);
  registerCron(program, cli);
  registerReleases(program, cli);
  registerResources(program, cli);
  registerChecks(program, cli);
  registerRouter(program, cli);
  registerDomains(program, cli);
  registerCerts(program, cli);
  registerKeys(program, cli);
  registerBuildpacks(program, cli);
  registerStack(program, cli);
  registerNodes(program, cli);
  registerUsers(program, cli);
  registerPlugins(program, cli);
  registerServer(program);
  return program;
}

/**
 * Run the CLI once and return its exit code: 0 when all went well, 1 for any error, which
 * is printed as `error: <message>` on stderr (commander prints its own usage errors the
 * same way).
 */
export async function runCli(cli: Cli, argv: string[]): Promise<number> {
  const program = buildProgram(cli);
  // Commands plugins add (storage:*, networks:*, addons:*...) come from the API, when needed.
  await addPluginCommands(program, cli, argv);
  for (const cmd of [program, ...program.commands]) cmd.exitOverride();
  // Bare `paas` prints the help on stdout and succeeds, as `heroku` does (commander's own
  // answer is the help on stderr and exit 1).
  if (argv.length <= 2) {
    cli.io.write(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    if (err instanceof CommandExit) return err.exitCode;
    for (const line of formatError(err, argv.includes("--verbose"))) cli.io.err(line);
    return 1;
  }
}

/**
 * `paas ps shop` is a common slip for `paas ps -a shop`: commander's "too many arguments" for a
 * command that takes the app as -a says so, on the same line.
 */
export function withAppHint(program: Command, text: string): string {
  const m = /^error: too many arguments for '([^']+)'\./.exec(text);
  const cmd = m ? program.commands.find((c) => c.name() === m[1]) : undefined;
  if (!m || !cmd?.options.some((o) => o.long === "--app")) return text;
  return `${text} Give the app with -a: paas ${m[1]} -a APP`;
}

/** `error: <message>`, the details indented below it, and the stack only when asked for. */
export function formatError(err: unknown, verbose: boolean): string[] {
  const message = err instanceof Error ? err.message : String(err);
  // Messages are one line by convention; the few that list several problems (bad
  // settings) carry their own indented lines, which are kept.
  const lines = [`error: ${message}`];
  if (isPaasError(err) && err.details) lines.push(...err.details.map((detail) => `  ${detail}`));
  if (verbose && err instanceof Error && err.stack) lines.push(err.stack);
  return lines;
}

function packageVersion(): string {
  try {
    // src/cli/ and dist/cli/ are both two levels below the package root.
    const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    return String(pkg.version);
  } catch {
    return "unknown";
  }
}
