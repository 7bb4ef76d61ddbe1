import type { CommandRequest, PluginContext, PluginModule } from "../../src/plugins/types.js";

// Networks and service discovery. Every container of an app joins the app's own network
// (instead of Docker's default bridge, where every container reaches every other) and answers
// there to <type>.<app>.internal and <type>.<index>.<app>.internal; web ports stay published on
// 127.0.0.1 for the router. A shared network (`networks:create`) joins the apps attached to it,
// with the same names, and only those: an app not attached is on no network they share.

interface SharedNetwork {
  name: string;
  /** Who created it: they and admins may attach apps, detach them, destroy it. */
  owner: string;
  apps: string[];
}

const NAME = /^[a-z][a-z0-9-]{0,29}$/;
const netKey = (name: string) => `net:${name}`;

class UserError extends Error {
  constructor(
    message: string,
    readonly code: "invalid_input" | "forbidden" | "not_found" | "conflict" = "invalid_input",
  ) {
    super(message);
  }
}

async function shared(ctx: PluginContext): Promise<SharedNetwork[]> {
  return Object.values(await ctx.kv.list<SharedNetwork>("net:")).sort((a, b) => a.name.localeCompare(b.name));
}

async function get(ctx: PluginContext, raw: string | undefined): Promise<SharedNetwork> {
  const name = checkName(raw);
  const net = await ctx.kv.get<SharedNetwork>(netKey(name));
  if (!net) throw new UserError(`no network named ${name}; see \`paas networks\``, "not_found");
  return net;
}

function checkName(raw: string | undefined): string {
  if (!raw || !NAME.test(raw)) {
    throw new UserError(`"${raw ?? ""}" is not a network name: lowercase letters, digits and -, up to 30`);
  }
  return raw;
}

function mayChange(req: CommandRequest, net: SharedNetwork): void {
  if (!req.admin && req.user !== net.owner) {
    throw new UserError(`network ${net.name} belongs to ${net.owner}: only they or an admin may change it`, "forbidden");
  }
}

function namesFor(ctx: PluginContext, app: string, type: string, index: number): string[] {
  return [ctx.discovery.internalName(type, app), ctx.discovery.internalName(`${type}.${index}`, app)];
}

const plugin = {
  triggers: {
    "container-env": async (args, ctx) => {
      // One-offs join the networks (they reach the app's processes) but answer to no name.
      const aliases = args.kind === "process" ? namesFor(ctx, args.app, args.type, args.index) : [];
      const attached = (await shared(ctx)).filter((n) => n.apps.includes(args.app));
      return {
        networks: [
          { name: ctx.discovery.appNetwork(args.app), aliases, primary: true },
          ...attached.map((n) => ({ name: ctx.discovery.sharedNetwork(n.name), aliases })),
        ],
      };
    },
    "ps-report": async (args, ctx) => {
      const attached = (await shared(ctx)).filter((n) => n.apps.includes(args.app)).map((n) => n.name);
      const types = [...new Set(args.processes.map((p) => p.type))].filter((t) => t !== "run");
      return {
        lines: [
          `=== Network ${ctx.discovery.appNetwork(args.app)}${attached.length ? `, shared: ${attached.join(", ")}` : ""}`,
          ...types.map((t) => ctx.discovery.internalName(t, args.app)),
        ],
      };
    },
    "app-destroy": async (args, ctx) => {
      for (const n of await shared(ctx)) {
        if (n.apps.includes(args.app)) await ctx.kv.set(netKey(n.name), { ...n, apps: n.apps.filter((a) => a !== args.app) });
      }
      // Its containers are gone: the app's network goes too.
      await ctx.docker?.networks.remove(ctx.discovery.appNetwork(args.app));
    },
    "app-rename": async (args, ctx) => {
      // Shared networks it was attached to keep it under its new name (its own network is
      // made for the new name by the containers that start next; the old one is removed).
      for (const n of await shared(ctx)) {
        if (n.apps.includes(args.from)) {
          await ctx.kv.set(netKey(n.name), { ...n, apps: n.apps.map((a) => (a === args.from ? args.app : a)) });
        }
      }
    },
  },
  commands: {
    networks: async (req, ctx) => {
      const all = await shared(ctx);
      if (req.app) {
        const mine = all.filter((n) => n.apps.includes(req.app!)).map((n) => n.name);
        const lines = [`${req.app}: ${ctx.discovery.appNetwork(req.app)} (private)`, ...mine.map((n) => `  attached to ${n}`)];
        return { output: `${lines.join("\n")}\n`, data: { app: req.app, network: ctx.discovery.appNetwork(req.app), shared: mine } };
      }
      if (all.length === 0) return { output: "no shared networks; create one with `paas networks:create NAME`\n", data: [] };
      return {
        output: `${all.map((n) => `${n.name}  ${n.apps.length ? n.apps.join(", ") : "(no apps)"}`).join("\n")}\n`,
        data: all,
      };
    },
    "networks:create": async (req, ctx) => {
      const name = checkName(req.args[0]);
      if (await ctx.kv.get(netKey(name))) throw new UserError(`network ${name} already exists`, "conflict");
      await ctx.kv.set(netKey(name), { name, owner: req.user, apps: [] } satisfies SharedNetwork);
      return { output: `Created network ${name}; attach apps with \`paas networks:attach ${name} -a APP\`\n` };
    },
    "networks:destroy": async (req, ctx) => {
      const net = await get(ctx, req.args[0]);
      mayChange(req, net);
      if (net.apps.length > 0) {
        throw new UserError(`network ${net.name} still has apps attached (${net.apps.join(", ")}): detach them first`, "conflict");
      }
      // Containers of a release still draining may be on it: they leave it now.
      const docker = ctx.docker;
      const name = ctx.discovery.sharedNetwork(net.name);
      const info = await docker?.networks.inspect(name);
      for (const id of Object.keys(info?.Containers ?? {})) await docker?.networks.disconnect(name, id);
      await docker?.networks.remove(name);
      await ctx.kv.del(netKey(net.name));
      return { output: `Destroyed network ${net.name}\n` };
    },
    "networks:attach": async (req, ctx) => {
      const net = await get(ctx, req.args[0]);
      mayChange(req, net);
      if (net.apps.includes(req.app!)) return { output: `${req.app} is already attached to ${net.name}\n` };
      await ctx.kv.set(netKey(net.name), { ...net, apps: [...net.apps, req.app!] });
      return {
        output: `Attached ${req.app} to ${net.name}: its apps reach it as <type>.${req.app}.internal; restarting\n`,
        restart: true,
      };
    },
    "networks:detach": async (req, ctx) => {
      const net = await get(ctx, req.args[0]);
      mayChange(req, net);
      if (!net.apps.includes(req.app!)) throw new UserError(`${req.app} is not attached to ${net.name}`, "not_found");
      await ctx.kv.set(netKey(net.name), { ...net, apps: net.apps.filter((a) => a !== req.app) });
      return { output: `Detached ${req.app} from ${net.name}; restarting\n`, restart: true };
    },
  },
} satisfies PluginModule;

export default plugin;
