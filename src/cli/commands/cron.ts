import type { Command } from "commander";
import type { CronJobInfo } from "../client.js";
import { appOf, type Cli, clientOf, withAppOption } from "../context.js";
import { formatTable, json } from "../output.js";

/** "succeeded (exit 0, 1.2s)", "failed (exit 3, 0.4s)", "skipped: ...", "running (scheduler.4)". */
export function describeLastRun(last: CronJobInfo["lastRun"]): string {
  if (!last) return "-";
  const secs = last.durationMs === null ? "" : `, ${(last.durationMs / 1000).toFixed(1)}s`;
  if (last.outcome === "running") return `running (${last.dyno ?? "?"})`;
  if (last.outcome === "succeeded" || last.outcome === "failed")
    return `${last.outcome} (exit ${last.exitCode}${secs})`;
  return `${last.outcome}${last.message ? `: ${last.message}` : ""}`;
}

export function cronRows(jobs: CronJobInfo[]): [string[], string[][]] {
  const rows = jobs.map((j) => [
    j.id,
    j.schedule,
    j.concurrencyPolicy,
    j.maintenance ? "(maintenance)" : (j.nextRun ?? "-"),
    j.lastRun?.scheduledAt ?? "-",
    describeLastRun(j.lastRun),
    j.command,
  ]);
  return [["ID", "SCHEDULE", "POLICY", "NEXT RUN", "LAST RUN", "RESULT", "COMMAND"], rows];
}

export async function cron(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const jobs = await clientOf(cli).cronJobs(app);
  if (opts.json) return cli.io.out(json(jobs));
  if (jobs.length === 0) {
    cli.io.out(`${app} has no scheduled jobs. Add a "cron" list to app.json and push.`);
    return;
  }
  for (const line of formatTable(...cronRows(jobs))) cli.io.out(line);
}

export function registerCron(program: Command, cli: Cli): void {
  withAppOption(program.command("cron"))
    .alias("cron:list")
    .description("list the app's scheduled jobs (app.json cron): next run and last result")
    .option("--json", "print JSON")
    .action(async (opts) => cron(cli, await appOf(cli, opts.app), opts));
}
