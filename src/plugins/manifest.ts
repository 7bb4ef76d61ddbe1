import { z } from "zod";
import { invalid } from "../errors.js";
import { TRIGGER_NAMES, type TriggerName } from "./catalog.js";

// A plugin's manifest: `plugin.json` at the root of its directory. Pure: text in, a checked
// Manifest (or a one-line error naming the field) out.
//
// {
//   "name": "storage", "version": "1.0.0", "description": "Persistent volumes",
//   "module": "index.js",                        // optional: a JS module (see types.ts)
//   "triggers": ["container-env", "ps-report"],  // handled: by the module's export of that
//                                                // name, else by the executable triggers/<name>
//   "commands": [{ "name": "storage:mount", "description": "...", "args": [{"name": "MOUNT"}],
//                  "flags": [{"name": "type", "value": true, "description": "..."}],
//                  "app": "required", "admin": false, "worker": false }],
//   "settings": [{ "name": "PAAS_STORAGE_X", "description": "...", "default": "..." }]
// }

const NAME = /^[a-z][a-z0-9-]{0,38}$/;
const COMMAND = /^[a-z][a-z0-9-]*(:[a-z][a-z0-9-]*)*$/;

const argSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_:./-]*$/),
  description: z.string().default(""),
  optional: z.boolean().default(false),
  /** Takes every remaining argument (last one only). */
  variadic: z.boolean().default(false),
});

const flagSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  description: z.string().default(""),
  /** Takes a value (`--type web`); otherwise a boolean switch (`--confirm`). */
  value: z.boolean().default(false),
});

const commandSchema = z.object({
  /** `topic:verb` (or `topic` alone): what users type after `paas`. */
  name: z.string().regex(COMMAND),
  description: z.string().default(""),
  args: z.array(argSchema).default([]),
  flags: z.array(flagSchema).default([]),
  /** Whether `-a APP` is required, optional, or not taken. */
  app: z.enum(["required", "optional", "none"]).default("required"),
  /** Only admins may run it. */
  admin: z.boolean().default(false),
  /** Changes what runs: runs in a worker through the queue, under the app's lock. */
  worker: z.boolean().default(false),
  /** Executable (relative to the plugin's directory) for plugins without a module handler. */
  run: z.string().optional(),
});

const settingSchema = z.object({
  name: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  description: z.string().default(""),
  default: z.string().optional(),
});

const manifestSchema = z.object({
  name: z.string().regex(NAME, "a lowercase name: letters, digits and dashes, starting with a letter"),
  version: z.string().min(1),
  description: z.string().default(""),
  module: z.string().optional(),
  triggers: z.array(z.string()).default([]),
  commands: z.array(commandSchema).default([]),
  settings: z.array(settingSchema).default([]),
});

export type CommandSpec = z.infer<typeof commandSchema>;
export type SettingSpec = z.infer<typeof settingSchema>;
export type Manifest = Omit<z.infer<typeof manifestSchema>, "triggers"> & { triggers: TriggerName[] };

export const MANIFEST_FILE = "plugin.json";

/** Check a manifest's text; `where` names it in errors. */
export function parseManifest(text: string, where = MANIFEST_FILE): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.join(".") || "(top level)";
    throw invalid(`${where}: ${field}: ${issue.message}`);
  }
  const m = r.data;
  for (const t of m.triggers) {
    if (!TRIGGER_NAMES.includes(t as TriggerName)) {
      throw invalid(`${where}: triggers: "${t}" is not in the trigger catalog (${TRIGGER_NAMES.join(", ")})`);
    }
  }
  const seen = new Set<string>();
  for (const c of m.commands) {
    if (seen.has(c.name)) throw invalid(`${where}: commands: "${c.name}" is declared twice`);
    seen.add(c.name);
    const variadic = c.args.findIndex((a) => a.variadic);
    if (variadic >= 0 && variadic !== c.args.length - 1) {
      throw invalid(`${where}: commands: ${c.name}: only the last argument may be variadic`);
    }
    if (m.module === undefined && c.run === undefined) {
      throw invalid(
        `${where}: commands: ${c.name} needs "run" (an executable) when the plugin has no "module"`,
      );
    }
    if (c.run !== undefined && !isInside(c.run)) {
      throw invalid(`${where}: commands: ${c.name}: "run" must be a relative path inside the plugin`);
    }
  }
  if (m.module !== undefined && !isInside(m.module)) {
    throw invalid(`${where}: module must be a relative path inside the plugin`);
  }
  return { ...m, triggers: m.triggers as TriggerName[] };
}

/** The topic of a command name: "addons" for "addons:create". */
export function topicOf(command: string): string {
  return command.split(":")[0];
}

function isInside(rel: string): boolean {
  return !rel.startsWith("/") && !rel.split(/[\\/]/).includes("..");
}
