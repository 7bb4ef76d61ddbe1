import type { Command } from "commander";
import { invalid, PaasError } from "../../errors.js";
import { parseConfigKey } from "../../names.js";
import type { ConfigVars } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { formatPairs, heading, json, shellQuote } from "../output.js";

/** ["A=1", "B=x=y"] -> {A: "1", B: "x=y"}; the value is everything after the first "=". */
export function parseAssignments(args: string[]): Record<string, string> {
  if (args.length === 0)
    throw invalid("give at least one KEY=value: paas config:set KEY=value [KEY=value ...]");
  const vars: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq === -1) throw invalid(`"${arg}" is not KEY=value: use paas config:set KEY=value [KEY=value ...]`);
    vars[parseConfigKey(arg.slice(0, eq))] = arg.slice(eq + 1);
  }
  return vars;
}

export function parseKeys(args: string[]): string[] {
  if (args.length === 0) throw invalid("give at least one key: paas config:unset KEY [KEY ...]");
  return [...new Set(args.map((key) => parseConfigKey(key)))];
}

export function formatConfig(vars: ConfigVars, style: "pairs" | "shell"): string[] {
  const keys = Object.keys(vars).sort();
  if (style === "shell") return keys.map((key) => `${key}=${shellQuote(vars[key])}`);
  return formatPairs(keys.map((key) => [key, vars[key]]));
}

export async function configShow(
  cli: Cli,
  app: string,
  opts: { json?: boolean; shell?: boolean },
): Promise<void> {
  const vars = await clientOf(cli).getConfig(app);
  if (opts.json) return cli.io.out(json(vars));
  if (opts.shell) {
    for (const line of formatConfig(vars, "shell")) cli.io.out(line);
    return;
  }
  if (Object.keys(vars).length === 0) {
    cli.io.out(`${app} has no config vars. Set some with: paas config:set KEY=value`);
    return;
  }
  cli.io.out(heading(`${app} Config Vars`));
  for (const line of formatConfig(vars, "pairs")) cli.io.out(line);
}

export async function configGet(cli: Cli, app: string, key: string): Promise<void> {
  const name = parseConfigKey(key);
  const vars = await clientOf(cli).getConfig(app);
  if (!Object.hasOwn(vars, name)) throw new PaasError("not_found", `config var ${name} is not set on ${app}`);
  cli.io.out(vars[name]);
}

/** What a config change does to the app: restart it, or (never deployed) nothing yet. */
async function changeText(cli: Cli, app: string, verb: string, keys: string[]): Promise<string> {
  const info = await clientOf(cli).getApp(app);
  return info.release
    ? `${verb} ${keys.join(", ")} and restarting ${app}`
    : `${verb} ${keys.join(", ")} on ${app} (not deployed yet: stored for its first deploy)`;
}

export async function configSet(cli: Cli, app: string, args: string[]): Promise<void> {
  const vars = parseAssignments(args);
  const client = clientOf(cli);
  const keys = Object.keys(vars);
  const result = await progress(cli.io, await changeText(cli, app, "Setting", keys), () =>
    client.updateConfig(app, vars),
  );
  const shown = Object.fromEntries(keys.map((key) => [key, result[key] ?? vars[key]]));
  for (const line of formatConfig(shown, "pairs")) cli.io.out(line);
}

/**
 * Unset the keys that are set; a key that is not is named and left alone (as on Heroku,
 * unsetting a missing key changes nothing: no release, no restart).
 */
export async function configUnset(cli: Cli, app: string, args: string[]): Promise<void> {
  const keys = parseKeys(args);
  const client = clientOf(cli);
  const vars = await client.getConfig(app);
  const missing = keys.filter((key) => !Object.hasOwn(vars, key));
  const present = keys.filter((key) => Object.hasOwn(vars, key));
  if (missing.length > 0) {
    const list = missing.join(", ");
    const verb = missing.length > 1 ? "are" : "is";
    cli.io.out(
      `${list} ${verb} not set on ${app}${present.length ? "" : ": nothing to unset, no new release"}`,
    );
  }
  if (present.length === 0) return;
  await progress(cli.io, await changeText(cli, app, "Unsetting", present), () =>
    client.updateConfig(app, Object.fromEntries(present.map((key) => [key, null]))),
  );
}

export function registerConfig(program: Command, cli: Cli): void {
  withAppOption(program.command("config"))
    .description("show the app's config vars")
    .option("--json", "print JSON")
    .option("-s, --shell", "print KEY='value' lines for a shell or a .env file")
    .action(async (opts) => configShow(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("config:get <key>"))
    .description("print one config var's value")
    .action(async (key, opts) => configGet(cli, await appOf(cli, opts.app), key));
  withAppOption(program.command("config:set <assignments...>"))
    .description("set config vars (KEY=value ...) and restart the app")
    .action(async (args, opts) => configSet(cli, await appOf(cli, opts.app), args));
  withAppOption(program.command("config:unset <keys...>"))
    .description("unset config vars and restart the app")
    .action(async (keys, opts) => configUnset(cli, await appOf(cli, opts.app), keys));
}
