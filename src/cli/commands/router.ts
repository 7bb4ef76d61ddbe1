import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { formatPairs, heading, json } from "../output.js";

// Per-app router settings (Dokku's nginx:set/report shape) and Heroku's maintenance mode.

const seg = encodeURIComponent;

/** The API's answer (GET/PATCH /apps/:app/router): the CLI knows it over HTTP only. */
interface RouterReport {
  settings: Record<string, { value: string; default: boolean }>;
  maintenance: boolean;
}

function reportLines(r: RouterReport): [string, string][] {
  const pairs: [string, string][] = Object.entries(r.settings).map(([k, v]) => [
    k,
    v.default ? `${v.value} (default)` : v.value,
  ]);
  pairs.push(["maintenance", r.maintenance ? "on" : "off"]);
  return pairs;
}

export async function routerReport(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const r = await clientOf(cli).json<RouterReport>("GET", `/apps/${seg(app)}/router`);
  if (opts.json) return cli.io.out(json(r));
  cli.io.out(heading(`${app} router settings`));
  for (const line of formatPairs(reportLines(r))) cli.io.out(line);
}

export async function routerGet(cli: Cli, app: string, key: string): Promise<void> {
  const r = await clientOf(cli).json<RouterReport>("GET", `/apps/${seg(app)}/router`);
  const setting = Object.hasOwn(r.settings, key) ? r.settings[key] : undefined;
  if (!setting) {
    throw invalid(`unknown router setting "${key}": use one of ${Object.keys(r.settings).join(", ")}`);
  }
  cli.io.out(setting.value);
}

export async function routerSet(cli: Cli, app: string, key: string, value: string): Promise<void> {
  // The API checks the key and the value, and names what is wrong.
  const k = key;
  const client = clientOf(cli);
  const r = await progress(cli.io, `Setting ${k} to ${value} for ${app}`, () =>
    client.json<RouterReport>("PATCH", `/apps/${seg(app)}/router`, { [k]: value }),
  );
  cli.io.out(`${k}: ${r.settings[k].value}${r.settings[k].default ? " (default)" : ""}`);
}

export async function maintenance(cli: Cli, app: string): Promise<void> {
  const r = await clientOf(cli).json<RouterReport>("GET", `/apps/${seg(app)}/router`);
  cli.io.out(r.maintenance ? "on" : "off");
}

export async function setMaintenance(cli: Cli, app: string, enabled: boolean): Promise<void> {
  const client = clientOf(cli);
  await progress(cli.io, `${enabled ? "Enabling" : "Disabling"} maintenance mode for ${app}`, () =>
    client.json("PUT", `/apps/${seg(app)}/maintenance`, { enabled }),
  );
}

export function registerRouter(program: Command, cli: Cli): void {
  withAppOption(program.command("router:report"))
    .description("show the app's router settings (body size limit, timeouts, maintenance)")
    .option("--json", "print JSON")
    .action(async (opts) => routerReport(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("router:get <key>"))
    .description("print one router setting in effect")
    .action(async (key, opts) => routerGet(cli, await appOf(cli, opts.app), key));
  withAppOption(program.command("router:set <key> <value>"))
    .description(
      "set a router setting: client-max-body-size (100m), connect-timeout (5s), first-byte-timeout (30s), idle-timeout (55s); value 'default' resets",
    )
    .action(async (key, value, opts) => routerSet(cli, await appOf(cli, opts.app), key, value));
  withAppOption(program.command("maintenance"))
    .description("show whether the app is in maintenance mode")
    .action(async (opts) => maintenance(cli, await appOf(cli, opts.app)));
  withAppOption(program.command("maintenance:on"))
    .description("serve a 503 maintenance page (with Retry-After) instead of the app")
    .action(async (opts) => setMaintenance(cli, await appOf(cli, opts.app), true));
  withAppOption(program.command("maintenance:off"))
    .description("serve the app again")
    .action(async (opts) => setMaintenance(cli, await appOf(cli, opts.app), false));
}
