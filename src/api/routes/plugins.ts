import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type express from "express";
import { Router } from "express";
import { authorize } from "../../auth/policy.js";
import { STACK_APP } from "../../builder/jobs.js";
import { forbidden, invalid, notFound } from "../../errors.js";
import { type AppName, parseAppName, parseConfigKey } from "../../names.js";
import type { PsReportResult } from "../../plugins/catalog.js";
import type { PluginHost } from "../../plugins/host.js";
import { installPlugin, uninstallPlugin } from "../../plugins/install.js";
import type { CommandSpec } from "../../plugins/manifest.js";
import type { CommandRequest, CommandResult } from "../../plugins/types.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { restartApp } from "../operations.js";
import { principalOf } from "../route-policy.js";
import type { Services } from "../services.js";
import { runJob, waitForJob } from "./wait.js";

// Plugin management (admin-only) and plugin commands. The CLI knows plugin commands only by
// asking GET /plugins/commands; it runs them with POST /plugins/:plugin/commands/:command,
// so plugin code never runs on the CLI's machine. A command with `worker: true` in its
// manifest changes what runs: it goes through the queue to a worker, under the app's lock.
// Route policies (policies.ts): management is admin-only; a command is checked here, against
// its manifest (`admin`) and its app (app:write), since the app is in the body, not the path.

const user = (res: express.Response) => String(res.locals.user ?? "");

const isAdmin = (res: express.Response): boolean => authorize(principalOf(res), "admin").allow;

function requireAdmin(res: express.Response, what: string): void {
  if (!isAdmin(res)) throw forbidden(`${user(res)} is not an admin: only admins may ${what}`);
}

/** A plugin command on an app: the same rule as any change to the app (owner, collaborators, admins). */
async function requireAppAccess(s: Services, res: express.Response, app: string): Promise<void> {
  const d = authorize(principalOf(res), "app:write", await s.store.access.get(app));
  if (!d.allow) throw forbidden(`${d.reason} (app ${app})`);
}

export function pluginRoutes(s: Services): express.Router {
  const r = Router();
  const host = (): PluginHost => {
    if (!s.plugins) throw notFound("plugins are not available on this server");
    return s.plugins;
  };

  r.get(
    "/plugins",
    handle(async (_req, res) => {
      requireAdmin(res, "list plugins");
      res.json(
        (await host().list()).map((p) => ({
          name: p.manifest.name,
          version: p.manifest.version,
          description: p.manifest.description,
          enabled: p.enabled,
          bundled: p.bundled,
          source: p.source ?? null,
          triggers: p.manifest.triggers,
          commands: p.manifest.commands.map((c) => c.name),
          settings: p.manifest.settings,
        })),
      );
    }),
  );

  r.post(
    "/plugins",
    handle(async (req, res) => {
      requireAdmin(res, "install plugins");
      const rec = await installPlugin(host(), s.store, s.settings.dataDir, req.body?.source);
      s.log("plugin installed", { plugin: rec.name, source: rec.source, user: user(res) });
      res.status(201).json(rec);
    }),
  );

  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    r.post(
      `/plugins/:name/${verb}`,
      handle(async (req, res) => {
        requireAdmin(res, `${verb} plugins`);
        const p = await host().get(String(req.params.name));
        await s.store.plugins.setEnabled(p.manifest.name, enabled);
        s.log(`plugin ${verb}d`, { plugin: p.manifest.name, user: user(res) });
        res.json({ name: p.manifest.name, enabled });
      }),
    );
  }

  r.delete(
    "/plugins/:name",
    handle(async (req, res) => {
      requireAdmin(res, "uninstall plugins");
      await uninstallPlugin(host(), s.store, String(req.params.name));
      s.log("plugin uninstalled", { plugin: req.params.name, user: user(res) });
      res.json({ name: req.params.name, uninstalled: true });
    }),
  );

  // `paas ps` asks for what plugins add to it (mounts, networks, add-ons): extra columns and lines.
  r.get(
    "/apps/:app/ps/report",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const processes = (await s.reader.ps(name)).map((p) => ({
        name: p.name,
        type: p.type,
        state: p.state,
      }));
      const report: Required<PsReportResult> = { columns: {}, lines: [] };
      for (const { result } of (await s.plugins?.fire("ps-report", { app: name, processes })) ?? []) {
        for (const [proc, cols] of Object.entries(result?.columns ?? {})) {
          report.columns[proc] = { ...report.columns[proc], ...cols };
        }
        report.lines.push(...(result?.lines ?? []));
      }
      res.json(report);
    }),
  );

  r.get(
    "/plugins/commands",
    handle(async (_req, res) => {
      res.json(await host().commands());
    }),
  );

  r.post(
    "/plugins/:plugin/commands/:command",
    handle(async (req, res) => {
      const plugin = String(req.params.plugin);
      const spec = (await host().commands()).find(
        (c) => c.plugin === plugin && c.name === String(req.params.command),
      );
      if (!spec)
        throw notFound(`no plugin command ${req.params.command} (plugin ${plugin}); see \`paas help\``);
      if (spec.admin) requireAdmin(res, `run ${spec.name}`);
      const request = await checkRequest(s, spec, req.body, user(res), isAdmin(res));
      if (request.app) await requireAppAccess(s, res, request.app);
      const result: CommandResult = spec.worker
        ? await runJob<CommandResult>(s, {
            kind: "operation",
            app: request.app ?? STACK_APP,
            user: request.user,
            operation: { op: "plugin-command", plugin, request },
          })
        : await host().runCommand(plugin, request);
      const changes = request.app ? pluginConfig(result?.config) : {};
      if (request.app && Object.keys(changes).length > 0) {
        await releaseConfig(s, parseAppName(request.app), changes, spec.name, request.user);
      } else if (result?.restart && request.app) {
        const app = parseAppName(request.app);
        const rec = await s.store.apps.require(app);
        if (rec.release > 0) await restartApp(s, app, undefined, request.user);
      }
      if (result?.file) return sendFile(res, s.settings.dataDir, result.file);
      res.json({ output: result?.output ?? "", data: result?.data ?? null, run: result?.run ?? null });
    }),
  );

  return r;
}

/** Only well-formed config keys and string/null values from a plugin's answer. */
function pluginConfig(raw: unknown): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (!raw || typeof raw !== "object") return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === null || typeof v === "string") out[parseConfigKey(k)] = v;
  }
  return out;
}

/** A plugin's config change, as `config:set` makes it: stored, then a new release (once deployed). */
async function releaseConfig(
  s: Services,
  app: AppName,
  changes: Record<string, string | null>,
  command: string,
  user: string,
): Promise<void> {
  await s.store.config.apply(app, changes);
  const set = Object.keys(changes).filter((k) => changes[k] !== null);
  const unset = Object.keys(changes).filter((k) => changes[k] === null);
  const parts = [set.length ? `Set ${set.join(", ")}` : "", unset.length ? `Unset ${unset.join(", ")}` : ""];
  const rec = await s.store.apps.require(app);
  if (rec.release > 0) {
    const description = `${parts.filter(Boolean).join("; ")} (${command})`;
    await waitForJob(s, { kind: "release", app, description, user });
  }
}

/** A command's file answer (only from the data dir), streamed; `x-paas-file` names it for the CLI. */
async function sendFile(
  res: express.Response,
  dataDir: string,
  file: { path: string; name: string; type?: string },
) {
  if (!path.resolve(String(file.path)).startsWith(path.resolve(dataDir) + path.sep))
    throw invalid("a plugin command answered with a file outside the data dir; it is not sent");
  const stat = await fsp.stat(file.path).catch(() => null);
  if (!stat?.isFile()) throw notFound(`the file ${path.basename(file.path)} is not on this API host`);
  const name = path.basename(String(file.name)).replace(/[^A-Za-z0-9._-]/g, "_");
  res.setHeader(
    "content-type",
    file.type === "text/html" ? "text/html; charset=utf-8" : "application/octet-stream",
  );
  res.setHeader("content-length", String(stat.size));
  res.setHeader("content-disposition", `attachment; filename="${name}"`);
  res.setHeader("x-paas-file", name);
  await pipeline(fs.createReadStream(file.path), res);
}

/** The request checked against the manifest: the app, the arguments, the flags. */
async function checkRequest(
  s: Services,
  spec: CommandSpec,
  body: unknown,
  user: string,
  admin: boolean,
): Promise<CommandRequest> {
  const b = (body ?? {}) as { app?: unknown; args?: unknown; flags?: unknown };
  let app: string | undefined;
  if (b.app !== undefined && b.app !== null && b.app !== "") {
    if (spec.app === "none") throw invalid(`${spec.name} takes no app`);
    const name = parseAppName(b.app);
    await s.store.apps.require(name);
    app = name;
  } else if (spec.app === "required") {
    throw invalid(`${spec.name} needs an app: add -a APP (or run it in the app's git checkout)`);
  }
  const args = Array.isArray(b.args) ? b.args.map(String) : [];
  const required = spec.args.filter((a) => !a.optional && !a.variadic).length;
  const usage = `usage: paas ${spec.name} ${spec.args.map((a) => (a.optional ? `[${a.name}]` : a.name)).join(" ")}`;
  if (args.length < required)
    throw invalid(`${spec.name}: missing ${spec.args[args.length].name} (${usage.trim()})`);
  if (args.length > spec.args.length && !spec.args.at(-1)?.variadic) {
    throw invalid(`${spec.name}: too many arguments (${usage.trim()})`);
  }
  const flags: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries((b.flags ?? {}) as Record<string, unknown>)) {
    const f = spec.flags.find((x) => x.name === k);
    if (!f) throw invalid(`${spec.name}: unknown option --${k}`);
    if (f.value && (typeof v !== "string" || v === "")) throw invalid(`${spec.name}: --${k} needs a value`);
    flags[k] = f.value ? String(v) : v === true || v === "true";
  }
  return { command: spec.name, app, args, flags, user, admin };
}
