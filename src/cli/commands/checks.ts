import type { Command } from "commander";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { json } from "../output.js";

export async function checks(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const state = await clientOf(cli).checks(app);
  if (opts.json) return cli.io.out(json(state));
  cli.io.out(
    state.enabled
      ? `Deploy checks are enabled for ${app}: new containers must pass them before traffic moves.`
      : `Deploy checks are disabled for ${app}: deploys do not wait for them (paas checks:enable turns them on).`,
  );
}

export async function setChecks(cli: Cli, app: string, enabled: boolean): Promise<void> {
  const client = clientOf(cli);
  await progress(cli.io, `${enabled ? "Enabling" : "Disabling"} deploy checks for ${app}`, () =>
    client.setChecks(app, enabled),
  );
}

export function registerChecks(program: Command, cli: Cli): void {
  withAppOption(program.command("checks"))
    .description("show whether deploys wait for the app's checks before moving traffic")
    .option("--json", "print JSON")
    .action(async (opts) => checks(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("checks:disable"))
    .description("deploy without waiting for the app's checks")
    .action(async (opts) => setChecks(cli, await appOf(cli, opts.app), false));
  withAppOption(program.command("checks:enable"))
    .description("make deploys pass the app's checks before traffic moves")
    .action(async (opts) => setChecks(cli, await appOf(cli, opts.app), true));
}
