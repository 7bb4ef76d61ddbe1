import os from "node:os";
import { type Command, InvalidArgumentError } from "commander";
import { resolveApp } from "./app-resolve.js";
import { ApiClient } from "./client.js";
import { type Env, loadCredentials } from "./credentials.js";
import { type GitRemotes, systemGit } from "./git-remotes.js";
import { type Io, stdio } from "./output.js";

// What every command gets instead of reaching for globals: where to print, the
// environment, the home directory, the working directory, git, a clock and fetch.
// main.ts builds the real one; tests build one around a local HTTP server and a buffer.

export interface Cli {
  io: Io;
  env: Env;
  home: string;
  cwd: string;
  git: GitRemotes;
  now: () => Date;
  fetch: typeof globalThis.fetch;
}

export function systemCli(): Cli {
  return {
    io: stdio,
    env: process.env,
    home: process.env.HOME || os.homedir(),
    cwd: process.cwd(),
    git: systemGit,
    now: () => new Date(),
    fetch: (input, init) => globalThis.fetch(input, init),
  };
}

/** An API client from the saved credentials (or PAAS_API_URL / PAAS_API_TOKEN). */
export function clientOf(cli: Cli): ApiClient {
  const creds = loadCredentials(cli.env, cli.home);
  return new ApiClient(creds.api, creds.token, cli.fetch);
}

export function appOf(cli: Cli, flag: string | undefined): Promise<string> {
  return resolveApp(flag, cli.cwd, cli.git);
}

export function withAppOption(cmd: Command): Command {
  return cmd.option("-a, --app <app>", "app to run the command against (default: from the paas git remote)");
}

/**
 * Heroku-style "Doing X... done": the line is finished with "!" if the work fails, and
 * `done` may say more from the result ("done, v7").
 */
export async function progress<T>(
  io: Io,
  text: string,
  work: () => Promise<T>,
  done: (result: T) => string = () => "done",
): Promise<T> {
  io.write(`${text}... `);
  let result: T;
  try {
    result = await work();
  } catch (err) {
    io.write("!\n");
    throw err;
  }
  io.write(`${done(result)}\n`);
  return result;
}

/** Commander argument parser for counts like --num. */
export function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("give a whole number of 1 or more.");
  }
  return n;
}
