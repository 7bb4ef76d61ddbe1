import type { DockerParts } from "../docker/index.js";
import type { TriggerArgs, TriggerName, TriggerResult } from "./catalog.js";

// The contract between the platform and a plugin's JS module (`"module"` in plugin.json).
// A module's default export is a PluginModule; a bundled TypeScript plugin writes
//   export default { triggers: {...}, commands: {...} } satisfies PluginModule;
// importing only types from src/plugins/ (so nothing of the host is loaded twice).
// Executables (any language) follow the same catalog: see catalog.ts and exec.ts.

/** A plugin's own key-value state in the platform's Redis (JSON values), kept across restarts. */
export interface PluginKv {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  /** Every key starting with `prefix`, with its value. */
  list<T = unknown>(prefix?: string): Promise<Record<string, T>>;
}

/** What every handler gets. */
export interface PluginContext {
  /** The plugin's name and directory. */
  plugin: string;
  dir: string;
  /** The platform's namespace: prefix Docker names with it (see discovery.ts). */
  namespace: string;
  /** The settings the manifest declares, from the platform's environment (or their defaults). */
  settings: Record<string, string | undefined>;
  kv: PluginKv;
  /** A line in the operation's output (the push, the command's answer). */
  out(line: string): void;
  /** Names for service discovery, the same for every plugin (see discovery.ts). */
  discovery: Discovery;
}

/**
 * Service discovery names. Each app has a private network (the network plugin puts its
 * containers there instead of Docker's default bridge); a container answers there to
 * `<type>.<app>.internal` (all containers of the type) and an add-on to `<addon>.<app>.internal`.
 */
export interface Discovery {
  /** The Docker network of an app's containers. */
  appNetwork(app: string): string;
  /** The Docker network behind a shared network that apps attach to (`networks:create NAME`). */
  sharedNetwork(name: string): string;
  /** `<name>.<app>.internal`. */
  internalName(name: string, app: string): string;
}

/** Where a handler runs: in a worker (trigger of a deploy, a `worker: true` command) it has Docker. */
export interface WorkerContext extends PluginContext {
  docker: DockerParts;
}

export type TriggerHandler<T extends TriggerName> = (
  args: TriggerArgs[T],
  ctx: PluginContext & { docker?: DockerParts },
) => Promise<TriggerResult<T> | undefined> | TriggerResult<T> | undefined;

/** One command invocation, as the API received it and checked against the manifest. */
export interface CommandRequest {
  command: string;
  /** The app (-a) when the command takes one; the API checked that it exists. */
  app?: string;
  /** Positional arguments, in manifest order (a variadic last one is spread). */
  args: string[];
  flags: Record<string, string | boolean>;
  user: string;
  admin: boolean;
}

/** A command's answer. `restart`: the API then restarts the app through the queue (zero downtime). */
export interface CommandResult {
  /** Printed by the CLI as is. */
  output?: string;
  /** Printed with --json. */
  data?: unknown;
  restart?: boolean;
  /**
   * Config vars of the command's app to set (string) or unset (null): the API applies them
   * as a new release, as `config:set` does (instead of a restart). Add-ons set their URLs so.
   */
  config?: Record<string, string | null>;
  /**
   * A file the command wrote on the host that ran it (absolute path): the API streams it
   * instead of JSON, and the CLI writes it to stdout or to `-o FILE`.
   */
  file?: { path: string; name: string; type?: string };
  /**
   * A one-off the CLI then runs attached, as `paas run` does, on a platform service image
   * (paas.kind=service) with the app's config and networks; `env` is added to it.
   */
  run?: { image: string; command: string; env?: Record<string, string> };
}

export type CommandHandler = (
  req: CommandRequest,
  ctx: PluginContext & { docker?: DockerParts },
) => Promise<CommandResult> | CommandResult;

export interface PluginModule {
  triggers?: { [T in TriggerName]?: TriggerHandler<T> };
  /** By command name ("storage:mount"). */
  commands?: Record<string, CommandHandler>;
}
