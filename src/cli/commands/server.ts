import type { Command } from "commander";
import { SETTINGS_DOC } from "../../config.js";
import { formatTable } from "../output.js";

interface ServerModule {
  runServer(opts: { roles?: string[] }): Promise<void>;
}

// Loaded only when `paas server` runs, so the everyday commands never load express,
// dockerode or ioredis. The path is a variable so the CLI type-checks on its own.
const SERVER_MODULE = "../../server.js";

export function parseRoles(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
}

export async function server(opts: { roles?: string }): Promise<void> {
  const { runServer } = (await import(SERVER_MODULE)) as ServerModule;
  await runServer({ roles: parseRoles(opts.roles) });
}

export function registerServer(program: Command): void {
  const settings = formatTable(
    ["SETTING", "DEFAULT", "DESCRIPTION"],
    SETTINGS_DOC.map((s) => [s.name, s.default, s.description]),
  );
  program
    .command("server")
    .description("run the platform (API, git receiver, build worker, router) in this process")
    .option(
      "--roles <roles>",
      "comma-separated subset of api,git,worker,router (default: $PAAS_ROLES or all)",
    )
    .addHelpText("after", `\nSettings (environment variables):\n  ${settings.join("\n  ")}\n`)
    .action((opts) => server(opts));
}
