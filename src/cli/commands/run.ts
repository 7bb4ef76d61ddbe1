import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { appOf, type Cli, clientOf, withAppOption } from "../context.js";
import { loadCredentials } from "../credentials.js";
import { commandLine, parseEnvPairs, runAttached } from "../run-session.js";

/** Thrown by a command whose exit code is its own (`paas run`): runCli returns it as is. */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export interface RunOptions {
  tty: boolean;
  detach?: boolean;
  env: string[];
  memory?: string;
}

export async function run(cli: Cli, app: string, args: string[], opts: RunOptions): Promise<void> {
  if (args.length === 0 || args.join("").trim() === "")
    throw invalid("no command given: use paas run -- COMMAND [ARGS...], e.g. paas run bash");
  const env = parseEnvPairs(opts.env);
  const command = commandLine(args);
  if (opts.detach) {
    const res = await clientOf(cli).runDetached(app, { command, env, memory: opts.memory });
    cli.io.err(`Running \`${command}\` on ${app}... up, ${res.dyno}`);
    cli.io.out(res.dyno);
    cli.io.err(`Its output is in: paas logs -a ${app}`);
    return;
  }
  const term = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  // A TTY only when both ends are terminals: piped output keeps stdout and stderr apart.
  const tty = opts.tty && Boolean(term.stdin.isTTY) && Boolean(term.stdout.isTTY);
  const creds = loadCredentials(cli.env, cli.home);
  const code = await runAttached({
    api: creds.api,
    token: creds.token,
    app,
    term,
    request: {
      command,
      tty,
      env,
      memory: opts.memory ?? null,
      cols: tty ? (term.stdout.columns ?? null) : null,
      rows: tty ? (term.stdout.rows ?? null) : null,
      term: tty ? (cli.env.TERM ?? null) : null,
    },
  });
  if (code !== 0) throw new CommandExit(code);
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRun(program: Command, cli: Cli): void {
  withAppOption(program.command("run"))
    .argument("[command...]", "the command and its arguments (put -- before a command that has options)")
    .description("run a one-off command in a new container of the current release (paas run bash)")
    .option("--no-tty", "no terminal: stdout and stderr stay separate, stdin is piped")
    .option("-d, --detach", "start it in the background; its output goes to paas logs")
    .option("-e, --env <KEY=VALUE>", "set an environment variable (repeatable)", collect, [])
    .option("-m, --memory <size>", "memory limit, e.g. 256m or 1g")
    .allowUnknownOption()
    .action(async (args: string[], opts) => run(cli, await appOf(cli, opts.app), args, opts));
}
