import type { Command } from "commander";
import { invalid } from "../../errors.js";
import type { Release, ReleaseInfo } from "../client.js";
import { appOf, type Cli, clientOf, positiveInt, progress, withAppOption } from "../context.js";
import { formatAgo, formatPairs, formatTable, heading, json } from "../output.js";

/** "v3" or "3" -> "v3". */
export function parseVersion(raw: string): string {
  const match = /^v?(\d+)$/i.exec(raw.trim());
  const n = match ? Number(match[1]) : 0;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw invalid(`"${raw}" is not a release version: give one like v3 (paas releases lists them)`);
  }
  return `v${n}`;
}

/** A failed release stands out in upper case; the one the app runs is marked current. */
export function releaseStatus(release: Release): string {
  const status = release.status === "failed" ? "FAILED" : (release.status ?? "");
  return release.current ? `${status} (current)`.trim() : status;
}

export function releaseRows(releases: Release[], now: Date): [string[], string[][]] {
  const rows = releases.map((r) => [
    r.version,
    releaseStatus(r),
    r.description ?? "",
    r.user ?? "",
    formatAgo(r.createdAt, now),
  ]);
  return [["VERSION", "STATUS", "DESCRIPTION", "USER", "WHEN"], rows];
}

export async function releases(cli: Cli, app: string, opts: { num?: number; json?: boolean }): Promise<void> {
  const list = await clientOf(cli).releases(app, opts.num);
  if (opts.json) return cli.io.out(json(list));
  if (list.length === 0) {
    cli.io.out(`${app} has no releases yet. Deploy with: git push paas main`);
    return;
  }
  cli.io.out(heading(`${app} Releases`));
  for (const line of formatTable(...releaseRows(list, cli.now()))) cli.io.out(line);
}

export function formatReleaseInfo(release: ReleaseInfo, now: Date): string[] {
  const keys = release.configKeys ?? [];
  const lines = [
    heading(`Release ${release.version}`),
    ...formatPairs([
      ["Description", release.description ?? ""],
      ["Status", releaseStatus(release)],
      ["By", release.user ?? ""],
      ["When", release.createdAt ? `${release.createdAt} (${formatAgo(release.createdAt, now)})` : "-"],
      ["Image", release.image ?? "-"],
      ["Commit", release.commit ?? "-"],
      ["Config vars", keys.length ? keys.join(", ") : "none"],
      // The Procfile's release entry runs once per deploy: a phase, never a process type.
      ...(release.processTypes?.release !== undefined
        ? [["Release command", release.processTypes.release] as [string, string]]
        : []),
    ]),
  ];
  const commands = release.processTypes ?? {};
  const formation = release.formation ?? {};
  const types = [...new Set([...Object.keys(commands), ...Object.keys(formation)])].filter(
    (t) => t !== "release",
  );
  if (types.length > 0) {
    const rows = types.map((type) => [
      type,
      String(formation[type] ?? 0),
      // A Dockerfile app's web type has no command of its own: it runs the image's CMD.
      commands[type] === "" ? "(the image's CMD)" : (commands[type] ?? "-"),
    ]);
    lines.push("", heading("Process Types"), ...formatTable(["TYPE", "COUNT", "COMMAND"], rows));
  }
  return lines;
}

export async function releaseInfo(
  cli: Cli,
  app: string,
  version: string | undefined,
  opts: { json?: boolean },
): Promise<void> {
  const wanted = version === undefined || version === "current" ? "current" : parseVersion(version);
  const release = await clientOf(cli).release(app, wanted);
  if (opts.json) return cli.io.out(json(release));
  for (const line of formatReleaseInfo(release, cli.now())) cli.io.out(line);
}

export async function rollback(cli: Cli, app: string, version: string | undefined): Promise<void> {
  const target = version === undefined ? undefined : parseVersion(version);
  const client = clientOf(cli);
  // Without a version the server picks the release before the current one, so which one
  // it was is only known from its answer.
  await progress(
    cli.io,
    target ? `Rolling back ${app} to ${target}` : `Rolling back ${app} to the previous release`,
    () => client.rollback(app, target),
    (result) =>
      target ? `done, ${result.version}` : `done, ${result.version} (a copy of ${result.rolledBackTo})`,
  );
}

export async function releaseOutput(cli: Cli, app: string, version: string): Promise<void> {
  const text = await clientOf(cli).releaseOutput(app, parseVersion(version));
  cli.io.write(text === "" || text.endsWith("\n") ? text : text + "\n");
}

export function registerReleases(program: Command, cli: Cli): void {
  withAppOption(program.command("releases"))
    .description("list the app's releases, newest first")
    .option("-n, --num <count>", "how many releases to show", positiveInt)
    .option("--json", "print JSON")
    .action(async (opts) => releases(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("releases:info [version]"))
    .description("show one release (default: the current one)")
    .option("--json", "print JSON")
    .action(async (version, opts) => releaseInfo(cli, await appOf(cli, opts.app), version, opts));
  withAppOption(program.command("releases:rollback [version]"))
    .description("deploy a copy of an older release (default: the one before the current)")
    .action(async (version, opts) => rollback(cli, await appOf(cli, opts.app), version));
  withAppOption(program.command("releases:output <version>"))
    .description("print a release's build and release-phase output")
    .action(async (version, opts) => releaseOutput(cli, await appOf(cli, opts.app), version));
}
