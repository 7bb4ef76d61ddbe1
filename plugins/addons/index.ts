// The add-ons plugin: Postgres and Redis services attached to apps (Heroku's add-ons).
// Commands in commands.ts; triggers here: app containers join the networks of their
// add-ons (container-env), a destroyed app lets go of them, `paas ps` lists them.

import type { TriggerArgs } from "../../src/plugins/catalog.js";
import type { PluginModule } from "../../src/plugins/types.js";
import { attach, create, destroy, detach, info, list } from "./commands.js";
import { configVar, hostFor, networkName } from "./plan.js";
import { Registry } from "./registry.js";
import { type AddonCtx, runnerFor } from "./runner.js";
import { StateBook } from "./state.js";
import type { Addon } from "./types.js";

type Ctx = AddonCtx;

/**
 * Every container of an app joins the private network of each add-on attached to it; the
 * URL vars are in the app's config. The service is started again here if it was gone, so a
 * deploy also heals its add-ons.
 */
async function containerEnv(args: TriggerArgs["container-env"], ctx: Ctx) {
  const addons = await new Registry(ctx.kv).of(args.app);
  if (addons.length === 0) return undefined;
  if (ctx.docker) {
    // Swarm mode: the network is an overlay made here, before the scheduler looks for it.
    const life = runnerFor(ctx);
    const book = new StateBook(ctx.kv);
    for (const a of addons) {
      await life.heal(a);
      await book.record(a.name, "running");
    }
  }
  return { networks: addons.map((a) => ({ name: networkName(ctx.namespace, a.name) })) };
}

/** A destroyed app's add-ons are detached, never deleted: their data stays until addons:destroy. */
async function appDestroy(args: TriggerArgs["app-destroy"], ctx: Ctx): Promise<undefined> {
  const reg = new Registry(ctx.kv);
  for (const a of await reg.of(args.app)) {
    const after = { ...a, attachments: a.attachments.filter((t) => t.app !== args.app) };
    await reg.save(after);
    if (ctx.docker)
      await runnerFor(ctx)
        .refreshAliases(after)
        .catch(() => {});
    ctx.out(
      `Detached ${a.name} (${a.service}); its data is kept${after.attachments.length ? "" : `: \`paas addons:destroy ${a.name} --confirm ${a.name}\` deletes it`}`,
    );
  }
  return undefined;
}

/**
 * A renamed app keeps its add-ons: the attachments follow the new name, and the service also
 * answers to the old host name, which the app's URL vars (moved as they were) still use.
 */
async function appRename(args: TriggerArgs["app-rename"], ctx: Ctx): Promise<undefined> {
  const reg = new Registry(ctx.kv);
  for (const a of await reg.of(args.from)) {
    const after: Addon = {
      ...a,
      app: a.app === args.from ? args.app : a.app,
      attachments: a.attachments.map((t) =>
        t.app === args.from ? { ...t, app: args.app, hosts: [...(t.hosts ?? []), hostFor(a.name, args.from)] } : t,
      ),
    };
    await reg.save(after);
    if (ctx.docker) await runnerFor(ctx).refreshAliases(after);
    ctx.out(`${a.name} (${a.service}) follows the app to ${args.app}`);
  }
  return undefined;
}

/** Reconcile: every add-on's volume, network and running container, recreated or started if not. */
async function reconcile(_args: TriggerArgs["reconcile"], ctx: Ctx): Promise<undefined> {
  if (!ctx.docker) return undefined;
  const life = runnerFor(ctx);
  const book = new StateBook(ctx.kv);
  const all = await new Registry(ctx.kv).all();
  for (const a of all) {
    const before = await life.state(a);
    // Being destroyed since this pass listed it: leave it gone.
    if (before !== "running" && !(await new Registry(ctx.kv).get(a.name))) continue;
    if (life.needsHeal(before)) {
      try {
        await life.heal(a);
        ctx.out(`add-on ${a.name} was ${before}: started again`);
      } catch (err) {
        ctx.out(`add-on ${a.name} is ${before} and could not be started: ${(err as Error).message}`);
      }
    }
    // What `paas ps` shows (the API has no Docker): the state after this pass.
    await book.record(a.name, before === "running" ? before : await life.state(a));
  }
  const reg = new Registry(ctx.kv);
  await life.sweep(async (name) => Boolean(await reg.get(name))).catch(() => {});
  return undefined;
}

async function psReport(args: TriggerArgs["ps-report"], ctx: Ctx) {
  const addons = await new Registry(ctx.kv).of(args.app);
  if (addons.length === 0) return undefined;
  const book = new StateBook(ctx.kv);
  const lines = ["=== add-ons"];
  for (const a of addons) {
    const vars = a.attachments.filter((t) => t.app === args.app).map((t) => configVar(t.as));
    // The API has no Docker: the state a worker recorded last (create, deploy, reconcile).
    const known = await book.get(a.name);
    lines.push(`${a.name} (${a.service}) as ${vars.join(", ")}: ${known?.state ?? "unknown"}`);
  }
  return { lines };
}

export default {
  triggers: {
    "container-env": containerEnv,
    "app-destroy": appDestroy,
    "app-rename": appRename,
    "ps-report": psReport,
    reconcile,
  },
  commands: {
    addons: list,
    "addons:create": create,
    "addons:info": info,
    "addons:attach": attach,
    "addons:detach": detach,
    "addons:destroy": destroy,
  },
} satisfies PluginModule;
