// addons:* commands: create, list, info, attach, detach, destroy. Each gets the request as
// the API checked it against plugin.json; the ones that touch Docker run in a worker.

import type { CommandRequest, CommandResult } from "../../src/plugins/types.js";
import { AddonError } from "./errors.js";
import type { AddonRunner } from "./lifecycle.js";
import {
  configVar,
  hostFor,
  newAddonName,
  newCredentials,
  parseAddonName,
  parseAs,
  parseService,
  SERVICES,
  urlsFor,
} from "./plan.js";
import { Registry } from "./registry.js";
import { type AddonCtx, runnerFor } from "./runner.js";
import { StateBook } from "./state.js";
import type { Addon } from "./types.js";

type Ctx = AddonCtx;

function lifecycle(ctx: Ctx): AddonRunner {
  return runnerFor(ctx);
}

function app(req: CommandRequest): string {
  if (!req.app) throw new AddonError("name the app with -a APP");
  return req.app;
}

function flag(req: CommandRequest, name: string): string | undefined {
  const v = req.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** The URL vars an app gets, as they read after this change (null: unset). */
function configChange(before: Addon, after: Addon | null, appName: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of Object.keys(urlsFor(before, appName))) out[k] = null;
  if (after) Object.assign(out, urlsFor(after, appName));
  return out;
}

export async function create(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const appName = app(req);
  const kind = parseService(req.args[0]);
  const as = parseAs(flag(req, "as"), kind);
  const reg = new Registry(ctx.kv);
  const name = flag(req, "name") ? parseAddonName(flag(req, "name")) : newAddonName(kind);
  if (await reg.get(name))
    throw new AddonError(`an add-on named ${name} exists already; pick another --name`, 409);
  await assertVarFree(reg, appName, as);
  const placed: Addon = {
    name,
    service: kind.name,
    app: appName,
    attachments: [{ app: appName, as }],
    ...newCredentials(kind),
    image: kind.image,
    createdAt: new Date().toISOString(),
    createdBy: req.user,
  };
  // Swarm mode: pinned to a node (its volume's) chosen now, --node or the manager's.
  const a = await lifecycle(ctx).place(placed, flag(req, "node"));
  ctx.out(`Creating ${name} (${kind.name}) on ${appName}...`);
  // Recorded first: if provisioning dies half-way, `addons:destroy` can still clean it up.
  await reg.save(a);
  try {
    await lifecycle(ctx).provision(a);
  } catch (err) {
    await lifecycle(ctx)
      .remove(a, { data: true })
      .catch(() => {});
    await reg.remove(name);
    throw err;
  }
  await new StateBook(ctx.kv).record(name, "running");
  const v = configVar(as);
  return {
    output: `Created ${name} as ${v} on ${appName} (reachable at ${hostFor(name, appName)}:${kind.port} from the app)\n${a.placement ? `Pinned to node ${a.placement.hostname}: its data volume is there (see \`paas addons:info ${name}\`)\n` : ""}`,
    data: { name, service: kind.name, app: appName, as, configVar: v, placement: a.placement },
    restart: true,
    config: { [v]: kind.url(a, hostFor(name, appName)) },
  };
}

async function assertVarFree(reg: Registry, appName: string, as: string, except?: string): Promise<void> {
  for (const other of await reg.of(appName)) {
    if (other.name === except) continue;
    if (other.attachments.some((t) => t.app === appName && t.as === as))
      throw new AddonError(
        `${appName} has ${configVar(as)} from ${other.name} already; choose another --as`,
        409,
      );
  }
}

export async function list(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const reg = new Registry(ctx.kv);
  const all = req.app ? await reg.of(req.app) : await reg.all();
  if (all.length === 0) {
    return { output: req.app ? `${req.app} has no add-ons.\n` : "No add-ons.\n", data: [] };
  }
  const rows = all.map((a) => [
    a.name,
    a.service,
    a.attachments.map((t) => `${t.app} as ${configVar(t.as)}`).join(", ") || "(not attached)",
  ]);
  const titles = ["Add-on", "Service"];
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length), titles[i].length));
  const header = `${titles[0].padEnd(widths[0])}  ${titles[1].padEnd(widths[1])}  Attached to`;
  const lines = rows.map((r) => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`);
  return { output: `${[header, ...lines].join("\n")}\n`, data: all.map(publicView) };
}

function publicView(a: Addon) {
  return {
    name: a.name,
    service: a.service,
    app: a.app,
    attachments: a.attachments.map((t) => ({ app: t.app, as: t.as, configVar: configVar(t.as) })),
    image: a.image,
    createdAt: a.createdAt,
  };
}

export async function info(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const a = await new Registry(ctx.kv).require(parseAddonName(req.args[0]));
  const life = ctx.docker ? lifecycle(ctx) : null;
  const state = life ? await life.state(a) : "(ask a worker)";
  if (life) await new StateBook(ctx.kv).record(a.name, state);
  const lines = [
    `=== ${a.name}`,
    `Service:     ${a.service} (${a.image})`,
    `Created:     ${a.createdAt} by ${a.createdBy || "?"} for ${a.app}`,
    `State:       ${state}`,
    `Attachments: ${a.attachments.map((t) => `${t.app} as ${configVar(t.as)} (${[hostFor(a.name, t.app), ...(t.hosts ?? [])].join(", ")})`).join(", ") || "none (the data is kept)"}`,
    // Swarm mode: the service, the node it is pinned to and why.
    ...(life ? await life.describe(a) : []),
  ];
  return { output: `${lines.join("\n")}\n`, data: { ...publicView(a), state, placement: a.placement } };
}

export async function attach(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const appName = app(req);
  const reg = new Registry(ctx.kv);
  const a = await reg.require(parseAddonName(req.args[0]));
  const as = parseAs(flag(req, "as"), SERVICES[a.service]);
  if (a.attachments.some((t) => t.app === appName && t.as === as))
    throw new AddonError(`${a.name} is attached to ${appName} as ${configVar(as)} already`, 409);
  await assertVarFree(reg, appName, as, a.name);
  const after: Addon = { ...a, attachments: [...a.attachments, { app: appName, as }] };
  await reg.save(after);
  const life = lifecycle(ctx);
  await life.provision(after);
  await life.refreshAliases(after);
  await new StateBook(ctx.kv).record(a.name, "running");
  return {
    output: `Attached ${a.name} to ${appName} as ${configVar(as)}\n`,
    restart: true,
    config: configChange(a, after, appName),
  };
}

export async function detach(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const appName = app(req);
  const reg = new Registry(ctx.kv);
  const a = await reg.require(parseAddonName(req.args[0]));
  if (!a.attachments.some((t) => t.app === appName))
    throw new AddonError(`${a.name} is not attached to ${appName}; see \`paas addons -a ${appName}\``);
  const after: Addon = { ...a, attachments: a.attachments.filter((t) => t.app !== appName) };
  await reg.save(after);
  const life = lifecycle(ctx);
  await life.refreshAliases(after);
  await life.disconnectApp(after, appName);
  return {
    output: `Detached ${a.name} from ${appName}${after.attachments.length ? "" : ` (its data is kept: \`paas addons:destroy ${a.name} --confirm ${a.name}\` deletes it)`}\n`,
    restart: true,
    config: configChange(a, null, appName),
  };
}

export async function destroy(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const name = parseAddonName(req.args[0]);
  const reg = new Registry(ctx.kv);
  const a = await reg.require(name);
  if (flag(req, "confirm") !== name)
    throw new AddonError(
      `this deletes ${name} and all its data; to proceed, type \`paas addons:destroy ${name} --confirm ${name}\``,
    );
  // Another app's config would keep a URL to nothing: detach those first (app-destroy does).
  const others = [...new Set(a.attachments.map((t) => t.app).filter((x) => x !== req.app))];
  if (others.length)
    throw new AddonError(
      `${name} is attached to ${others.join(", ")}; detach it first (\`paas addons:detach ${name} -a ${others[0]}\`) or destroy it with -a ${others[0]}`,
      409,
    );
  const life = lifecycle(ctx);
  // Forgotten before its container goes: a reconcile pass that sees the container gone would
  // otherwise heal the add-on (container and volume) right back. Put back if Docker refuses.
  await reg.remove(name);
  let notes: string[];
  try {
    for (const t of a.attachments) await life.disconnectApp(a, t.app);
    notes = await life.remove(a, { data: true });
  } catch (err) {
    await reg.save(a);
    throw err;
  }
  await new StateBook(ctx.kv).forget(name);
  const apps = [...new Set(a.attachments.map((t) => t.app))];
  const change: Record<string, string | null> = {};
  for (const t of a.attachments.filter((x) => x.app === req.app)) change[configVar(t.as)] = null;
  return {
    output: `Destroyed ${name} and its data${apps.length ? ` (was attached to ${apps.join(", ")})` : ""}\n${notes.map((n) => `${n}\n`).join("")}`,
    restart: Boolean(req.app && apps.includes(req.app)),
    config: req.app ? change : undefined,
  };
}
