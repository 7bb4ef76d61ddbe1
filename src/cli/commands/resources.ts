import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { invalid } from "../../errors.js";
import type { Limits, Resources, ResourcesChange } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { formatTable, heading, json } from "../output.js";
import { parseProcessType } from "./ps.js";

/** Commander argument parser for --memory: a whole number of megabytes or gigabytes. */
export function memorySize(raw: string): string {
  const size = raw.trim().toLowerCase();
  if (!/^[1-9]\d*[mg]$/.test(size)) throw new InvalidArgumentError("give a size like 256m or 1g.");
  return size;
}

/**
 * Commander argument parser for --cpu: a number of CPUs from 0.01 to 64, fractions allowed
 * (the server also refuses more than its host has).
 */
export function cpuCount(raw: string): number {
  const n = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw.trim()) || !Number.isFinite(n) || n < 0.01 || n > 64) {
    throw new InvalidArgumentError("give a number of CPUs from 0.01 to 64, like 0.5 or 2.");
  }
  return n;
}

/** One row per type: its own limit, else the app default (marked), else unlimited. */
export function resourceRows(resources: Resources): [string[], string[][]] {
  const { defaults, types } = resources;
  const cell = (own: Limits[keyof Limits], fallback: Limits[keyof Limits]): string =>
    own !== null && own !== undefined
      ? String(own)
      : fallback !== null && fallback !== undefined
        ? `${fallback} (default)`
        : "unlimited";
  const rows = [
    ["(default)", cell(defaults.memory, null), cell(defaults.cpu, null)],
    ...Object.entries(types).map(([type, limits]) => [
      type,
      cell(limits.memory, defaults.memory),
      cell(limits.cpu, defaults.cpu),
    ]),
  ];
  return [["TYPE", "MEMORY", "CPU"], rows];
}

export async function resources(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const limits = await clientOf(cli).resources(app);
  if (opts.json) return cli.io.out(json(limits));
  cli.io.out(heading(`${app} Resources`));
  for (const line of formatTable(...resourceRows(limits))) cli.io.out(line);
}

export async function resourcesSet(
  cli: Cli,
  app: string,
  type: string | undefined,
  opts: { memory?: string; cpu?: number },
): Promise<void> {
  if (opts.memory === undefined && opts.cpu === undefined) {
    throw invalid(
      "give --memory SIZE, --cpu N or both: paas resources:set [--memory 512m] [--cpu 0.5] [TYPE]",
    );
  }
  const change: ResourcesChange = {
    ...(type !== undefined ? { type: parseProcessType(type) } : {}),
    ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
    ...(opts.cpu !== undefined ? { cpu: opts.cpu } : {}),
  };
  const client = clientOf(cli);
  await progress(cli.io, `Setting resources of ${change.type ?? app}`, () =>
    client.setResources(app, change),
  );
}

export function registerResources(program: Command, cli: Cli): void {
  withAppOption(program.command("resources"))
    .description("show the memory and CPU limits of the app's process types")
    .option("--json", "print JSON")
    .action(async (opts) => resources(cli, await appOf(cli, opts.app), opts));
  withAppOption(program.command("resources:set [type]"))
    .description("set memory and CPU limits for one process type (default: all of them)")
    .option("--memory <size>", "memory limit, e.g. 256m or 1g", memorySize)
    .option("--cpu <cpus>", "CPU limit in CPUs, e.g. 0.5", cpuCount)
    .action(async (type, opts) => resourcesSet(cli, await appOf(cli, opts.app), type, opts));
}
