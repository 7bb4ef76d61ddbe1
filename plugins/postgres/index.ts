// The postgres plugin: pg:* commands on an app's postgres add-on (backups, psql, info).
// The add-on itself is created by the addons plugin (`paas addons:create postgres`); this
// plugin finds its container by labels and network aliases, so it needs no copy of the
// add-ons' registry.

import { PassThrough } from "node:stream";
import type { DockerParts } from "../../src/docker/index.js";
import type { CommandRequest, CommandResult, PluginContext, PluginModule } from "../../src/plugins/types.js";
import { AddonError } from "../addons/errors.js";
import { type FoundService, findService } from "../addons/find.js";
import { hostFor } from "../addons/plan.js";
import { capture, formatBytes, getBackup, listBackups, parseBackupId, restore } from "./backups.js";

type Ctx = PluginContext & { docker?: DockerParts };

function docker(ctx: Ctx): DockerParts {
  if (!ctx.docker) throw new AddonError("this command needs a worker with Docker", 500);
  return ctx.docker;
}

function dataDir(ctx: Ctx): string {
  const d = ctx.settings.PAAS_DATA_DIR;
  if (!d) throw new AddonError("PAAS_DATA_DIR is not set on the worker", 500);
  return d;
}

async function target(req: CommandRequest, ctx: Ctx): Promise<{ app: string; found: FoundService }> {
  if (!req.app) throw new AddonError("name the app with -a APP");
  const name = typeof req.flags.database === "string" ? req.flags.database : undefined;
  return { app: req.app, found: await findService(docker(ctx), ctx.namespace, "postgres", req.app, name) };
}

async function backupsList(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { found } = await target(req, ctx);
  const all = await listBackups(ctx.kv, found.addon);
  if (all.length === 0)
    return {
      output: `No backups of ${found.addon}. Capture one with \`paas pg:backups:capture\`.\n`,
      data: [],
    };
  const lines = [`=== Backups of ${found.addon}`, "ID    Created at                Size      By"];
  for (const b of all)
    lines.push(
      `${b.id.padEnd(5)} ${b.createdAt.padEnd(25)} ${formatBytes(b.bytes).padEnd(9)} ${b.createdBy}`,
    );
  return { output: `${lines.join("\n")}\n`, data: all.map(({ file: _f, ...b }) => b) };
}

async function backupsCapture(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { app, found } = await target(req, ctx);
  ctx.out(`Capturing a backup of ${found.addon}...`);
  const b = await capture(docker(ctx), ctx.kv, dataDir(ctx), found, app, req.user);
  return {
    output: `Backup ${b.id} of ${found.addon} captured (${formatBytes(b.bytes)})\n`,
    data: { id: b.id, addon: b.addon, bytes: b.bytes, createdAt: b.createdAt },
  };
}

async function backupsDownload(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { found } = await target(req, ctx);
  const all = await listBackups(ctx.kv, found.addon);
  const id = req.args[0] ? parseBackupId(req.args[0]) : all.at(-1)?.id;
  if (!id)
    throw new AddonError(
      `no backups of ${found.addon} yet; capture one with \`paas pg:backups:capture\``,
      404,
    );
  const b = await getBackup(ctx.kv, found.addon, id);
  return {
    output: "",
    data: { id: b.id, bytes: b.bytes },
    file: { path: b.file, name: `${found.addon}-${b.id}.dump` },
  };
}

async function backupsRestore(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { app, found } = await target(req, ctx);
  const id = parseBackupId(req.args[0]);
  if (req.flags.confirm !== app)
    throw new AddonError(
      `this replaces the data of ${found.addon} with backup ${id}; to proceed, add --confirm ${app}`,
    );
  const b = await getBackup(ctx.kv, found.addon, id);
  ctx.out(`Restoring ${b.id} into ${found.addon}...`);
  await restore(docker(ctx), found, b);
  return { output: `Restored backup ${b.id} into ${found.addon}\n` };
}

/**
 * `pg:psql`: a psql session, as `paas run` gives one: the CLI runs a one-off of the
 * postgres image (with the app's config and add-on networks) attached to the terminal.
 * `pg:psql --command SQL` (or SQL as arguments): one statement through the service's own
 * psql, its output answered.
 */
async function psql(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { found } = await target(req, ctx);
  const sql = typeof req.flags.command === "string" ? req.flags.command : req.args.join(" ");
  if (!sql.trim()) {
    const { POSTGRES_USER: user, POSTGRES_PASSWORD: password, POSTGRES_DB: db } = found.env;
    const url = `postgres://${user}:${encodeURIComponent(password ?? "")}@${hostFor(found.addon, req.app ?? "")}:5432/${db}`;
    return {
      run: {
        image: found.info.Config.Image,
        command: 'exec psql "$PAAS_PSQL_URL"',
        env: { PAAS_PSQL_URL: url },
      },
    };
  }
  const out = new PassThrough();
  let text = "";
  out.on("data", (d: Buffer) => {
    if (text.length < 1 << 20) text += d.toString("utf8");
  });
  const r = await docker(ctx).execs.run(
    found.id,
    [
      "psql",
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-U",
      found.env.POSTGRES_USER,
      "-d",
      found.env.POSTGRES_DB,
      "-c",
      sql,
    ],
    { stdout: out, user: "postgres" },
  );
  if (r.exitCode !== 0) throw new AddonError(`psql: ${r.stderr.trim().split("\n").slice(-2).join(" ")}`);
  return { output: text };
}

async function pgInfo(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { found } = await target(req, ctx);
  const out = new PassThrough();
  let text = "";
  out.on("data", (d: Buffer) => {
    text += d.toString("utf8");
  });
  const q =
    "select version(), pg_size_pretty(pg_database_size(current_database())), (select count(*) from pg_stat_activity where datname = current_database())";
  await docker(ctx).execs.run(
    found.id,
    ["psql", "-X", "-At", "-F", "|", "-U", found.env.POSTGRES_USER, "-d", found.env.POSTGRES_DB, "-c", q],
    { stdout: out, user: "postgres" },
  );
  const [version = "?", size = "?", conns = "?"] = text.trim().split("|");
  const backups = await listBackups(ctx.kv, found.addon);
  const lines = [
    `=== ${found.addon}`,
    `Status:      ${found.info.State.Running ? "available" : found.info.State.Status}`,
    `Version:     ${version.split(" on ")[0]}`,
    `Data size:   ${size}`,
    `Connections: ${conns}`,
    `Backups:     ${backups.length}`,
  ];
  return {
    output: `${lines.join("\n")}\n`,
    data: { addon: found.addon, version, size, connections: Number(conns), backups: backups.length },
  };
}

export default {
  commands: {
    "pg:info": pgInfo,
    "pg:psql": psql,
    "pg:backups": backupsList,
    "pg:backups:capture": backupsCapture,
    "pg:backups:download": backupsDownload,
    "pg:backups:restore": backupsRestore,
  },
} satisfies PluginModule;
