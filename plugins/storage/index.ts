import { randomBytes } from "node:crypto";
import type { PluginContext, PluginModule } from "../../src/plugins/types.js";

// Persistent storage: `storage:mount NAME:/path` gives the app a Docker named volume that
// the platform creates and labels (runtime, from this plugin's container-env answer), so
// its data outlives containers: deploys, restarts, rollbacks. During a zero-downtime deploy
// the new and the draining old containers mount the same volume at once.

interface Mount {
  /** The user's name for it (volumes) or the host path (bind). */
  name: string;
  target: string;
  type: "volume" | "bind";
  /** Only containers of this process type (absent: every type and one-offs). */
  processType?: string;
  /**
   * The Docker volume, once the app was renamed (volumes cannot be renamed: the data stays
   * in the one made under the old name). Absent: the name made from the app's name.
   */
  volume?: string;
}

const VOLUME_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const TYPE = /^[a-z0-9_-]+$/i;

class UserError extends Error {
  constructor(
    message: string,
    readonly code: "invalid_input" | "forbidden" | "not_found" = "invalid_input",
  ) {
    super(message);
  }
}

const key = (app: string) => `mounts:${app}`;
const volumeName = (ns: string, app: string, name: string) => `${ns}.storage.${app}.${name}`;
const volumeOf = (ns: string, app: string, m: Mount) => m.volume ?? volumeName(ns, app, m.name);

async function mountsOf(ctx: PluginContext, app: string): Promise<Mount[]> {
  return (await ctx.kv.get<Mount[]>(key(app))) ?? [];
}

/** Whether another app's mount (one renamed from `app`'s name) uses the volume `volume`. */
async function volumeHeldByAnother(ctx: PluginContext, app: string, volume: string): Promise<boolean> {
  const all = await ctx.kv.list<Mount[]>("mounts:");
  return Object.entries(all).some(
    ([k, mounts]) => k !== key(app) && (mounts ?? []).some((x) => x.type === "volume" && x.volume === volume),
  );
}

/** "NAME:/path" (volume) or "/host/path:/path" (bind), checked. */
export function parseMount(raw: string): Omit<Mount, "processType"> {
  const i = raw.lastIndexOf(":");
  const source = i > 0 ? raw.slice(0, i) : "";
  const target = i > 0 ? raw.slice(i + 1) : "";
  if (!source || !target.startsWith("/")) {
    throw new UserError(`"${raw}" is not a mount: use NAME:/container/path (or /host/path:/container/path)`);
  }
  if (target === "/" || target.split("/").includes("..")) {
    throw new UserError(`${target} cannot be mounted over: pick a directory such as /data`);
  }
  if (source.startsWith("/")) {
    if (source.split("/").includes("..")) throw new UserError(`host path ${source} must not contain ".."`);
    // The platform refuses to plan such a container anyway (runtime/hardening.ts): say so now.
    if (/(^|\/)docker\.sock$/.test(source)) throw new UserError("the Docker socket is never mounted into apps", "forbidden");
    return { name: source, target, type: "bind" };
  }
  if (!VOLUME_NAME.test(source)) {
    throw new UserError(`volume name "${source}" must be lowercase letters, digits, - and _ (up to 63)`);
  }
  return { name: source, target, type: "volume" };
}

function describe(m: Mount): string {
  return `${m.name}:${m.target}  ${m.type === "bind" ? "host path" : "volume"}  ${m.processType ?? "all types"}`;
}

const plugin = {
  triggers: {
    "container-env": async (args, ctx) => {
      const mounts = (await mountsOf(ctx, args.app)).filter(
        (m) => m.processType === undefined || (args.kind === "process" && m.processType === args.type),
      );
      return {
        mounts: mounts.map((m) => ({
          source: m.type === "volume" ? volumeOf(ctx.namespace, args.app, m) : m.name,
          target: m.target,
          type: m.type,
        })),
      };
    },
    "ps-report": async (args, ctx) => {
      const mounts = await mountsOf(ctx, args.app);
      if (mounts.length === 0) return {};
      return {
        lines: [
          "=== Storage (shared by the new and the draining containers during a deploy)",
          ...mounts.map(describe),
        ],
      };
    },
    "app-destroy": async (args, ctx) => {
      const mounts = await mountsOf(ctx, args.app);
      await ctx.kv.del(key(args.app));
      // The platform made these volumes for this app alone: they go with it.
      for (const m of mounts) {
        if (m.type === "volume") await ctx.docker?.volumes.remove(volumeOf(ctx.namespace, args.app, m));
      }
    },
    "app-rename": async (args, ctx) => {
      const mounts = await mountsOf(ctx, args.from);
      if (mounts.length === 0) return;
      // The mounts follow the app, and keep pointing at the volumes that hold the data.
      await ctx.kv.set(
        key(args.app),
        mounts.map((m) => (m.type === "volume" ? { ...m, volume: volumeOf(ctx.namespace, args.from, m) } : m)),
      );
      await ctx.kv.del(key(args.from));
    },
  },
  commands: {
    storage: async (req, ctx) => {
      const mounts = await mountsOf(ctx, req.app!);
      return {
        output: mounts.length ? `${mounts.map(describe).join("\n")}\n` : `${req.app} has no mounts\n`,
        data: mounts,
      };
    },
    "storage:mount": async (req, ctx) => {
      const m = parseMount(req.args[0]);
      if (m.type === "bind" && !req.admin) {
        throw new UserError("only admins may mount host paths: mount a volume (NAME:/path) instead", "forbidden");
      }
      const type = req.flags.type;
      if (type !== undefined && (typeof type !== "string" || !TYPE.test(type))) {
        throw new UserError(`--type must be a process type such as web`);
      }
      const mounts = await mountsOf(ctx, req.app!);
      if (mounts.some((x) => x.target === m.target && (x.processType ?? "") === (type ?? ""))) {
        throw new UserError(`${m.target} is already mounted; storage:unmount it first`);
      }
      const mount: Mount = { ...m, ...(type ? { processType: type as string } : {}) };
      // A renamed app keeps its volume under the old name: a new app given that name must
      // not be handed that app's data (nor remove it on destroy), so it gets a volume of its own.
      if (m.type === "volume") {
        const derived = volumeName(ctx.namespace, req.app!, m.name);
        if (await volumeHeldByAnother(ctx, req.app!, derived)) {
          mount.volume = `${derived}-${randomBytes(3).toString("hex")}`;
        }
      }
      await ctx.kv.set(key(req.app!), [...mounts, mount]);
      return { output: `Mounted ${m.name} at ${m.target} on ${req.app}; restarting\n`, data: mount, restart: true };
    },
    "storage:unmount": async (req, ctx) => {
      const raw = req.args[0];
      const mounts = await mountsOf(ctx, req.app!);
      const keep = mounts.filter((x) => raw !== `${x.name}:${x.target}` && raw !== x.target);
      if (keep.length === mounts.length) throw new UserError(`${req.app} has no mount ${raw}`, "not_found");
      await ctx.kv.set(key(req.app!), keep);
      return { output: `Unmounted ${raw} from ${req.app} (its data is kept); restarting\n`, restart: true };
    },
  },
} satisfies PluginModule;

export default plugin;
