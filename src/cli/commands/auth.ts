import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { ApiClient } from "../client.js";
import { type Cli, clientOf } from "../context.js";
import {
  checkToken,
  credentialsPath,
  LOGIN_HINT,
  normalizeApiUrl,
  removeCredentials,
  saveCredentials,
} from "../credentials.js";
import { json } from "../output.js";
import { passwordFrom } from "./users.js";

export interface LoginOptions {
  api?: string;
  token?: string;
  email?: string;
  password?: string;
  passwordStdin?: boolean;
}

export async function login(cli: Cli, opts: LoginOptions): Promise<void> {
  const rawApi = opts.api ?? cli.env.PAAS_API_URL;
  if (rawApi && opts.email) {
    // Email + password: the API hands out a new token for this machine.
    const api = normalizeApiUrl(rawApi);
    const password = await passwordFrom(opts);
    const body = await new ApiClient(api, "", cli.fetch).json<{ token: string; user: { user: string } }>(
      "POST",
      "/auth/login",
      { email: opts.email, password },
    );
    saveCredentials(cli.home, { api, token: body.token });
    cli.io.out(`Logged in to ${api} as ${body.user.user}`);
    return;
  }
  const rawToken = opts.token ?? cli.env.PAAS_API_TOKEN;
  if (!rawApi || !rawToken)
    throw invalid(
      `give the API URL and a token, or --email: ${LOGIN_HINT} or \`paas login --api URL --email EMAIL\``,
    );
  const api = normalizeApiUrl(rawApi);
  const token = checkToken(rawToken);
  // Check the token before saving anything, so a typo never replaces working credentials.
  const { user } = await new ApiClient(api, token, cli.fetch).whoami();
  saveCredentials(cli.home, { api, token });
  cli.io.out(`Logged in to ${api} as ${userName(user)}`);
}

export async function logout(cli: Cli): Promise<void> {
  const removed = removeCredentials(cli.home);
  cli.io.out(removed ? `Logged out of ${removed.api}` : `Not logged in (no ${credentialsPath(cli.home)})`);
  if (cli.env.PAAS_API_TOKEN) cli.io.out("Note: PAAS_API_TOKEN is still set in this shell's environment");
}

export async function whoami(cli: Cli, opts: { json?: boolean }): Promise<void> {
  const client = clientOf(cli);
  const body = await client.whoami();
  cli.io.out(opts.json ? json(body) : userName(body.user));
}

/** The API may describe the user as a string or as an object. */
export function userName(user: unknown): string {
  if (typeof user === "string") return user;
  if (user && typeof user === "object") {
    const u = user as Record<string, unknown>;
    for (const key of ["name", "email", "id"]) if (typeof u[key] === "string") return u[key] as string;
  }
  return JSON.stringify(user);
}

export function registerAuth(program: Command, cli: Cli): void {
  program
    .command("login")
    .description("log in to a paas API and let git push to it without asking")
    .option("--api <url>", "API URL, e.g. http://127.0.0.1:5100 (default: $PAAS_API_URL)")
    .option("--token <token>", "API token (default: $PAAS_API_TOKEN)")
    .option("--email <email>", "log in with your email and password instead of a token")
    .option("--password <password>", "the password (default: asked on the terminal)")
    .option("--password-stdin", "read the password from stdin")
    .action((opts) => login(cli, opts));
  program
    .command("logout")
    .description("forget the saved API credentials and their ~/.netrc entry")
    .action(() => logout(cli));
  program
    .command("whoami")
    .description("show the user the token belongs to")
    .option("--json", "print JSON")
    .action((opts) => whoami(cli, opts));
}
