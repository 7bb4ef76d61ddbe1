import { Argument, type Command } from "commander";
import { invalid, PaasError } from "../../errors.js";
import type { Builder, Buildpacks } from "../client.js";
import { appOf, type Cli, clientOf, positiveInt, progress, withAppOption } from "../context.js";
import { heading, json } from "../output.js";

// The API takes the whole list at once; add and remove read it first and send it back
// changed. Two of them racing on one app can lose one change, which `paas buildpacks`
// shows and a second run fixes.

/** A bundled buildpack's name (nodejs) or a git URL, optionally with #ref. */
export function parseBuildpack(raw: string): string {
  const bp = raw.trim();
  if (bp === "" || /\s/.test(bp)) {
    throw invalid(
      `"${raw}" is not a buildpack: give a bundled one's name (e.g. nodejs) or a git URL (https://host/repo.git#ref)`,
    );
  }
  return bp;
}

export function parseBuildpacks(args: string[]): string[] {
  const list = args.map(parseBuildpack);
  const twice = list.find((bp, i) => list.indexOf(bp) !== i);
  if (twice !== undefined) throw invalid(`${twice} is given twice: give each buildpack once`);
  return list;
}

/** `index` counts from 1, as `paas buildpacks` numbers them; past the end appends. */
export function addBuildpack(list: string[], bp: string, index?: number): string[] {
  if (list.includes(bp)) throw invalid(`${bp} is already a buildpack of this app (see paas buildpacks)`);
  const at = index === undefined ? list.length : Math.min(index - 1, list.length);
  return [...list.slice(0, at), bp, ...list.slice(at)];
}

export function removeBuildpack(list: string[], bp: string): string[] {
  if (!list.includes(bp)) {
    throw new PaasError(
      "not_found",
      `${bp} is not a buildpack of this app (${list.length ? `it has ${list.join(", ")}` : "it has none set"})`,
    );
  }
  return list.filter((other) => other !== bp);
}

export function describeBuilder(builder: Builder): string {
  return builder ?? "auto (the repo's Dockerfile if it has one, else buildpacks)";
}

export function formatBuildpacks(app: string, state: Buildpacks): string[] {
  const list = state.buildpacks.length
    ? state.buildpacks.map((bp, i) => `${i + 1}. ${bp}`)
    : ["none set: each push detects them"];
  return [heading(`${app} Buildpacks`), ...list, `Builder: ${describeBuilder(state.builder)}`];
}

export async function buildpacks(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const state = await clientOf(cli).buildpacks(app);
  if (opts.json) return cli.io.out(json(state));
  for (const line of formatBuildpacks(app, state)) cli.io.out(line);
}

async function putBuildpacks(cli: Cli, app: string, text: string, list: string[]): Promise<void> {
  const client = clientOf(cli);
  await progress(cli.io, text, () => client.setBuildpacks(app, list));
  if (list.length === 0) {
    cli.io.out("The next push detects its buildpacks.");
    return;
  }
  for (const [i, bp] of list.entries()) cli.io.out(`${i + 1}. ${bp}`);
  cli.io.out("The next push builds with these: git push paas main");
}

export async function buildpacksSet(cli: Cli, app: string, args: string[]): Promise<void> {
  const list = parseBuildpacks(args);
  await putBuildpacks(cli, app, `Setting the buildpacks of ${app}`, list);
}

export async function buildpacksAdd(
  cli: Cli,
  app: string,
  bp: string,
  opts: { index?: number },
): Promise<void> {
  const wanted = parseBuildpack(bp);
  const { buildpacks: list } = await clientOf(cli).buildpacks(app);
  await putBuildpacks(
    cli,
    app,
    `Adding ${wanted} to the buildpacks of ${app}`,
    addBuildpack(list, wanted, opts.index),
  );
}

export async function buildpacksRemove(cli: Cli, app: string, bp: string): Promise<void> {
  const wanted = parseBuildpack(bp);
  const { buildpacks: list } = await clientOf(cli).buildpacks(app);
  await putBuildpacks(
    cli,
    app,
    `Removing ${wanted} from the buildpacks of ${app}`,
    removeBuildpack(list, wanted),
  );
}

export async function buildpacksClear(cli: Cli, app: string): Promise<void> {
  await putBuildpacks(cli, app, `Clearing the buildpacks of ${app}`, []);
}

export async function builderSet(
  cli: Cli,
  app: string,
  choice: "dockerfile" | "buildpacks" | "auto",
): Promise<void> {
  const builder: Builder = choice === "auto" ? null : choice;
  const client = clientOf(cli);
  await progress(cli.io, `Setting the builder of ${app} to ${describeBuilder(builder)}`, () =>
    client.setBuilder(app, builder),
  );
}

export async function purgeCache(cli: Cli, app: string): Promise<void> {
  const client = clientOf(cli);
  await progress(cli.io, `Purging the build cache of ${app}`, () => client.purgeCache(app));
}

export function registerBuildpacks(program: Command, cli: Cli): void {
  withAppOption(program.command("buildpacks"))
    .description("show the app's buildpacks and builder")
    .option("--json", "print JSON")
    .action(async (opts) => buildpacks(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("buildpacks:set <buildpacks...>"))
    .description("build the app with these buildpacks, in this order")
    .action(async (args, opts) => buildpacksSet(cli, await appOf(cli, opts.app), args));
  withAppOption(program.command("buildpacks:add <buildpack>"))
    .description("add a buildpack (at the end, or at --index)")
    .option("-i, --index <n>", "position to insert it at, counting from 1", positiveInt)
    .action(async (bp, opts) => buildpacksAdd(cli, await appOf(cli, opts.app), bp, opts));
  withAppOption(program.command("buildpacks:remove <buildpack>"))
    .description("remove a buildpack")
    .action(async (bp, opts) => buildpacksRemove(cli, await appOf(cli, opts.app), bp));
  withAppOption(program.command("buildpacks:clear"))
    .description("clear the buildpacks so each push detects them")
    .action(async (opts) => buildpacksClear(cli, await appOf(cli, opts.app)));
  withAppOption(program.command("builder:set"))
    .description("build with the Dockerfile, with buildpacks, or auto (Dockerfile if present)")
    .addArgument(new Argument("<builder>", "how to build").choices(["dockerfile", "buildpacks", "auto"]))
    .action(async (choice, opts) => builderSet(cli, await appOf(cli, opts.app), choice));
  withAppOption(program.command("repo:purge-cache"))
    .description("delete the app's build cache; the next build starts cold")
    .action(async (opts) => purgeCache(cli, await appOf(cli, opts.app)));
}
