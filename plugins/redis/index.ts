// The redis plugin: redis:* commands on an app's redis add-on. The add-on itself is created
// by the addons plugin (`paas addons:create redis`); this one finds its container by labels
// and network aliases.

import { PassThrough } from "node:stream";
import type { DockerParts } from "../../src/docker/index.js";
import type { CommandRequest, CommandResult, PluginContext, PluginModule } from "../../src/plugins/types.js";
import { AddonError } from "../addons/errors.js";
import { findService } from "../addons/find.js";

type Ctx = PluginContext & { docker?: DockerParts };

/** `paas redis:cli PING` (or any one command): redis-cli in the service container. */
async function cli(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  if (!ctx.docker) throw new AddonError("this command needs a worker with Docker", 500);
  if (!req.app) throw new AddonError("name the app with -a APP");
  if (req.args.length === 0) throw new AddonError("give a command: paas redis:cli PING -a APP");
  const name = typeof req.flags.database === "string" ? req.flags.database : undefined;
  const found = await findService(ctx.docker, ctx.namespace, "redis", req.app, name);
  const out = new PassThrough();
  let text = "";
  out.on("data", (d: Buffer) => {
    if (text.length < 1 << 20) text += d.toString("utf8");
  });
  // The password goes in the environment (REDISCLI_AUTH), not on the command line.
  const r = await ctx.docker.execs.run(found.id, ["redis-cli", ...req.args], {
    stdout: out,
    env: [`REDISCLI_AUTH=${found.env.REDIS_PASSWORD ?? ""}`],
  });
  if (r.exitCode !== 0) throw new AddonError(`redis-cli: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
  return { output: text };
}

export default { commands: { "redis:cli": cli } } satisfies PluginModule;
