import type { Command } from "commander";
import type { Stack } from "../client.js";
import { type Cli, clientOf, progress } from "../context.js";
import { formatPairs, formatTable, heading, json } from "../output.js";

/** A row for the image, its version and each installed tool, a column per flavour. */
export function stackRows(stack: Stack): [string[], string[][]] {
  const { build, run } = stack;
  const tools = [...new Set([...Object.keys(build?.installed ?? {}), ...Object.keys(run?.installed ?? {})])];
  const rows = [
    ["image", build?.image ?? "not built", run?.image ?? "not built"],
    ["version", build?.version ?? "-", run?.version ?? "-"],
    ...tools.map((tool) => [tool, build?.installed?.[tool] ?? "-", run?.installed?.[tool] ?? "-"]),
  ];
  return [["", "BUILD", "RUN"], rows];
}

export async function stack(cli: Cli, opts: { json?: boolean }): Promise<void> {
  const images = await clientOf(cli).stack();
  if (opts.json) return cli.io.out(json(images));
  cli.io.out(heading("Stack"));
  for (const line of formatTable(...stackRows(images))) cli.io.out(line);
  if (!images.build || !images.run) cli.io.out("Build the stack images with: paas stack:build");
}

export async function stackBuild(cli: Cli): Promise<void> {
  const client = clientOf(cli);
  const built = await progress(cli.io, "Building stack images (this takes a few minutes)", () =>
    client.buildStack(),
  );
  for (const line of formatPairs([
    ["Build image", built.build],
    ["Run image", built.run],
  ]))
    cli.io.out(line);
}

export function registerStack(program: Command, cli: Cli): void {
  program
    .command("stack")
    .description("show the stack images builds and apps run on, and what they have installed")
    .option("--json", "print JSON")
    .action((opts) => stack(cli, opts));
  program
    .command("stack:build")
    .description("rebuild the build and run stack images from Debian packages")
    .action(() => stackBuild(cli));
}
