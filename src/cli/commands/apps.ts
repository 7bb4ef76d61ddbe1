import type { Command } from "commander";
import { invalid, PaasError } from "../../errors.js";
import { parseAppName } from "../../names.js";
import { appFromRemoteUrl, DEFAULT_REMOTE } from "../app-resolve.js";
import type { AppInfo, Release } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { formatPairs, formatSince, formatTable, heading, json } from "../output.js";
import { processRows } from "./ps.js";

export async function appsList(cli: Cli, opts: { json?: boolean }): Promise<void> {
  const apps = await clientOf(cli).listApps();
  if (opts.json) return cli.io.out(json(apps));
  if (apps.length === 0) {
    cli.io.out("You have no apps. Create one with: paas apps:create [NAME]");
    return;
  }
  cli.io.out(heading("Apps"));
  const rows = apps.map((app) => [app.name, app.release?.version ?? "-", app.url]);
  for (const line of formatTable(["NAME", "RELEASE", "URL"], rows)) cli.io.out(line);
}

export async function appsCreate(
  cli: Cli,
  name: string | undefined,
  opts: { remote: string; json?: boolean },
): Promise<void> {
  const client = clientOf(cli);
  const wanted = name === undefined ? undefined : parseAppName(name);
  const create = () => client.createApp(wanted);
  let app: Awaited<ReturnType<typeof create>>;
  if (opts.json) app = await create();
  else if (wanted) app = await progress(cli.io, `Creating app ${wanted}`, create);
  else {
    // The server picks the name, so the line can only be printed once it has answered.
    app = await create();
    cli.io.out(`Creating app ${app.name}... done`);
  }
  if (!opts.json) cli.io.out(`${app.url} | ${app.gitUrl}`);

  if (await cli.git.insideWorkTree(cli.cwd)) {
    let outcome: string;
    try {
      outcome = await cli.git.setUrl(cli.cwd, opts.remote, app.gitUrl);
    } catch (err) {
      throw new PaasError(
        "internal",
        `app ${app.name} was created, but setting git remote ${opts.remote} failed: ${(err as Error).message}`,
      );
    }
    if (!opts.json && outcome !== "unchanged") cli.io.out(`Git remote ${opts.remote} ${outcome}`);
  }
  if (opts.json) cli.io.out(json(app));
}

export async function appsInfo(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const info = await clientOf(cli).getApp(app);
  if (opts.json) return cli.io.out(json(info));
  for (const line of formatAppInfo(info, cli.now())) cli.io.out(line);
}

export function formatAppInfo(info: AppInfo, now: Date): string[] {
  const lines = [
    heading(info.name),
    ...formatPairs([
      ["Web URL", info.url],
      ["Git URL", info.gitUrl],
      ...(info.owner ? [["Owner", info.owner] as [string, string]] : []),
      ["Release", describeRelease(info.release ?? null)],
      ...(info.release?.createdAt
        ? [
            ["Deployed", `${info.release.createdAt} (${formatSince(info.release.createdAt, now)})`] as [
              string,
              string,
            ],
          ]
        : []),
      ["Created", info.createdAt],
    ]),
  ];
  const processes = info.processes ?? [];
  if (processes.length > 0) {
    lines.push("", heading("Processes"), ...formatTable(...processRows(processes, now)));
  }
  return lines;
}

function describeRelease(release: Release | null): string {
  if (!release) return "none yet (deploy with: git push paas main)";
  return release.description ? `${release.version}: ${release.description}` : release.version;
}

export async function appsDestroy(
  cli: Cli,
  positional: string | undefined,
  opts: { app?: string; confirm?: string },
): Promise<void> {
  if (positional && opts.app && positional !== opts.app) {
    throw invalid(`two different apps given (${positional} and -a ${opts.app}): give one`);
  }
  const app = await appOf(cli, positional ?? opts.app);
  if (opts.confirm !== app) {
    const why =
      opts.confirm === undefined
        ? `destroying ${app} deletes its releases, config and containers for good`
        : `--confirm ${opts.confirm} does not match the app ${app}`;
    throw invalid(`${why}: to go ahead run paas apps:destroy ${app} --confirm ${app}`);
  }
  const client = clientOf(cli);
  await progress(cli.io, `Destroying ${app} (including all its releases and containers)`, () =>
    client.destroyApp(app, opts.confirm as string),
  );
  const remoteUrl = await cli.git.getUrl(cli.cwd, DEFAULT_REMOTE);
  if (remoteUrl && appFromRemoteUrl(remoteUrl) === app) {
    await cli.git.remove(cli.cwd, DEFAULT_REMOTE);
    cli.io.out(`Git remote ${DEFAULT_REMOTE} removed`);
  }
}

export async function appUrl(cli: Cli, app: string): Promise<void> {
  const info = await clientOf(cli).getApp(app);
  cli.io.out(info.url);
}

export function registerApps(program: Command, cli: Cli): void {
  program
    .command("apps")
    .alias("apps:list")
    .description("list your apps")
    .option("--json", "print JSON")
    .action((opts) => appsList(cli, opts));
  program
    .command("apps:create [name]")
    .description("create an app (random name if none given) and add a paas git remote")
    .option("-r, --remote <remote>", "git remote to add in the current repository", DEFAULT_REMOTE)
    .option("--json", "print JSON")
    .action((name, opts) => appsCreate(cli, name, opts));
  withAppOption(program.command("apps:info"))
    .description("show an app's URLs, release and processes")
    .option("--json", "print JSON")
    .action(async (opts) => appsInfo(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("apps:destroy [app]"))
    .description("permanently destroy an app (needs --confirm APP)")
    .option("--confirm <app>", "the app's name again, to confirm")
    .action((app, opts) => appsDestroy(cli, app, opts));
  withAppOption(program.command("url"))
    .description("print the app's web URL")
    .action(async (opts) => appUrl(cli, await appOf(cli, opts.app)));
  withAppOption(program.command("open"))
    .description("print the app's web URL to open in a browser")
    .action(async (opts) => appUrl(cli, await appOf(cli, opts.app)));
}
