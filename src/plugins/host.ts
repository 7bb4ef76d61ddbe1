import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { DockerParts } from "../docker/index.js";
import {
  conflict,
  DeployFailed,
  forbidden,
  invalid,
  isPaasError,
  messageOf,
  notFound,
  PaasError,
} from "../errors.js";
import type { Store } from "../store/index.js";
import { type TriggerArgs, type TriggerName, type TriggerResult, triggerDef } from "./catalog.js";
import { discoveryFor } from "./discovery.js";
import { messageFrom, PluginTimeout, runExecutable } from "./exec.js";
import { type CommandSpec, MANIFEST_FILE, type Manifest, parseManifest } from "./manifest.js";
import type { CommandRequest, CommandResult, PluginContext, PluginKv, PluginModule } from "./types.js";

// The plugin host: finds plugins (bundled roots and installed ones), keeps which are enabled
// (Redis, via store/plugins.ts), fires catalog triggers at them and runs their commands.
// It knows no plugin by name: bundled plugins go through exactly what a third-party one does.

/** A folder of plugins (one subfolder each). `compiledDir`: where their TypeScript is built to. */
export interface PluginRoot {
  dir: string;
  bundled: boolean;
  compiledDir?: string;
}

export interface LoadedPlugin {
  manifest: Manifest;
  dir: string;
  bundled: boolean;
  enabled: boolean;
  /** Installed ones: the git URL or path. */
  source?: string;
  /** The module file to import, when the manifest has one. */
  moduleFile?: string;
}

/** A veto-able trigger said no: the operation stops with the plugin's message. */
export class PluginVeto extends DeployFailed {
  constructor(
    readonly plugin: string,
    readonly trigger: string,
    reason: string,
  ) {
    super(`${trigger} vetoed by plugin ${plugin}: ${reason}`);
    this.name = "PluginVeto";
  }
}

export interface HostDeps {
  store: Store;
  namespace: string;
  roots: PluginRoot[];
  timeoutMs: number;
  /** The platform's environment: declared settings are read from it. */
  env: Record<string, string | undefined>;
  /** Given where handlers may touch Docker (a worker). */
  docker?: DockerParts;
  log?: (msg: string, ctx?: Record<string, unknown>) => void;
}

type Out = (line: string) => void;

export class PluginHost {
  private readonly modules = new Map<string, Promise<PluginModule>>();

  constructor(private readonly deps: HostDeps) {}

  get timeoutMs(): number {
    return this.deps.timeoutMs;
  }

  /** Every plugin found, enabled or not, by name. */
  async list(): Promise<LoadedPlugin[]> {
    const disabled = await this.deps.store.plugins.disabled();
    const out: LoadedPlugin[] = [];
    for (const root of this.deps.roots) {
      const entries = fs.existsSync(root.dir) ? await fsp.readdir(root.dir, { withFileTypes: true }) : [];
      for (const e of entries) {
        const dir = path.join(root.dir, e.name);
        if (!e.isDirectory() || !fs.existsSync(path.join(dir, MANIFEST_FILE))) continue;
        const p = this.load(dir, root, disabled);
        if (p) out.push(p);
      }
    }
    for (const rec of await this.deps.store.plugins.installed()) {
      const p = this.load(rec.dir, { dir: path.dirname(rec.dir), bundled: false }, disabled);
      if (p) out.push({ ...p, source: rec.source });
    }
    return out.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  }

  async get(name: string): Promise<LoadedPlugin> {
    const p = (await this.list()).find((x) => x.manifest.name === name);
    if (!p) throw notFound(`no plugin named "${name}"; see \`paas plugins\``);
    return p;
  }

  /** Every command of the enabled plugins, with its plugin's name. */
  async commands(): Promise<(CommandSpec & { plugin: string })[]> {
    const out: (CommandSpec & { plugin: string })[] = [];
    for (const p of await this.list()) {
      if (!p.enabled) continue;
      for (const c of p.manifest.commands) out.push({ ...c, plugin: p.manifest.name });
    }
    return out;
  }

  /**
   * Fire a trigger at every enabled plugin that handles it, one at a time in name order.
   * Veto-able: the first failure throws PluginVeto. `container-env`: a failure throws (the
   * container cannot be planned). Others: a failure is reported through `out` and the log.
   */
  async fire<T extends TriggerName>(
    name: T,
    args: TriggerArgs[T],
    out: Out = () => {},
  ): Promise<{ plugin: string; result: TriggerResult<T> }[]> {
    const def = triggerDef(name);
    if (!def) throw new Error(`unknown trigger ${name}`);
    const results: { plugin: string; result: TriggerResult<T> }[] = [];
    for (const p of await this.list()) {
      if (!p.enabled || !p.manifest.triggers.includes(name)) continue;
      try {
        const result = await this.runTrigger(p, name, args, out);
        if (result !== undefined) results.push({ plugin: p.manifest.name, result });
      } catch (err) {
        const reason = messageOf(err);
        if (def.veto) throw new PluginVeto(p.manifest.name, name, reason);
        if (def.returns && name === "container-env") {
          throw new DeployFailed(`plugin ${p.manifest.name} failed in ${name}: ${reason}`);
        }
        out(`plugin ${p.manifest.name} failed in ${name}: ${reason}`);
        this.deps.log?.("plugin trigger failed", { plugin: p.manifest.name, trigger: name, error: reason });
      }
    }
    return results;
  }

  /** Run one command of one plugin (the caller checked access and the app). */
  async runCommand(pluginName: string, req: CommandRequest, out: Out = () => {}): Promise<CommandResult> {
    const p = await this.get(pluginName);
    if (!p.enabled) throw invalid(`plugin ${pluginName} is disabled; \`paas plugins:enable ${pluginName}\``);
    const spec = p.manifest.commands.find((c) => c.name === req.command);
    if (!spec) throw notFound(`plugin ${pluginName} has no command ${req.command}`);
    const what = `plugin ${pluginName} command ${req.command}`;
    const mod = p.moduleFile ? await this.module(p.moduleFile) : undefined;
    const handler = mod?.commands?.[req.command];
    if (handler) {
      try {
        return await this.withTimeout(what, Promise.resolve(handler(req, this.context(p, out))));
      } catch (err) {
        throw asUserError(err);
      }
    }
    if (!spec.run) throw new Error(`${what} has no handler in its module and no "run" executable`);
    const env = this.execEnv(p, {
      PAAS_COMMAND: req.command,
      PAAS_APP: req.app ?? "",
      PAAS_USER: req.user,
      ...Object.fromEntries(
        Object.entries(req.flags).map(([k, v]) => [
          `PAAS_FLAG_${k.toUpperCase().replace(/-/g, "_")}`,
          String(v),
        ]),
      ),
    });
    const r = await runExecutable(path.join(p.dir, spec.run), req.args, {
      input: JSON.stringify(req),
      env,
      cwd: p.dir,
      timeoutMs: this.deps.timeoutMs,
      what,
    }).catch((err) => {
      throw asUserError(err);
    });
    if (r.code !== 0) throw invalid(messageFrom(r.stderr, `${what} failed (exit ${r.code})`));
    return { output: r.stdout };
  }

  /** Check a plugin directory as install does: manifest, module, an executable per trigger. */
  async check(dir: string, root: PluginRoot): Promise<Manifest> {
    const manifest = parseManifest(await readManifest(dir), `${path.basename(dir)}/${MANIFEST_FILE}`);
    const p: LoadedPlugin = {
      manifest,
      dir,
      bundled: root.bundled,
      enabled: true,
      moduleFile: moduleFileOf(manifest, dir, root),
    };
    let mod: PluginModule | undefined;
    if (p.moduleFile) {
      if (!fs.existsSync(p.moduleFile))
        throw invalid(`${manifest.name}: module ${manifest.module} not found`);
      mod = await this.module(p.moduleFile);
    }
    for (const t of manifest.triggers) {
      if (mod?.triggers?.[t]) continue;
      if (!isExecutable(path.join(dir, "triggers", t))) {
        throw invalid(`${manifest.name}: trigger ${t} needs triggers/${t} (executable) or a module handler`);
      }
    }
    for (const c of manifest.commands) {
      if (mod?.commands?.[c.name]) continue;
      if (!c.run || !isExecutable(path.join(dir, c.run))) {
        throw invalid(`${manifest.name}: command ${c.name} needs an executable "run" or a module handler`);
      }
    }
    return manifest;
  }

  private load(dir: string, root: PluginRoot, disabled: Set<string>): LoadedPlugin | null {
    try {
      const manifest = parseManifest(fs.readFileSync(path.join(dir, MANIFEST_FILE), "utf8"), dir);
      return {
        manifest,
        dir,
        bundled: root.bundled,
        enabled: !disabled.has(manifest.name),
        moduleFile: moduleFileOf(manifest, dir, root),
      };
    } catch (err) {
      this.deps.log?.("plugin skipped: bad manifest", { dir, error: messageOf(err) });
      return null;
    }
  }

  private async runTrigger<T extends TriggerName>(
    p: LoadedPlugin,
    name: T,
    args: TriggerArgs[T],
    out: Out,
  ): Promise<TriggerResult<T> | undefined> {
    const what = `plugin ${p.manifest.name} trigger ${name}`;
    const mod = p.moduleFile ? await this.module(p.moduleFile) : undefined;
    const handler = mod?.triggers?.[name];
    if (handler) {
      const ctx = this.context(p, out);
      return (await this.withTimeout(what, Promise.resolve(handler(args, ctx)))) as
        | TriggerResult<T>
        | undefined;
    }
    const def = triggerDef(name)!;
    const argv = def.argv.map((k) => String((args as Record<string, unknown>)[k] ?? ""));
    const r = await runExecutable(path.join(p.dir, "triggers", name), argv, {
      input: JSON.stringify(args),
      env: this.execEnv(p, { PAAS_TRIGGER: name }),
      cwd: p.dir,
      timeoutMs: this.deps.timeoutMs,
      what,
    });
    if (r.code !== 0) throw new Error(messageFrom(r.stderr, `exit ${r.code}`));
    if (def.returns) {
      const text = r.stdout.trim();
      if (!text) return undefined;
      try {
        return JSON.parse(text) as TriggerResult<T>;
      } catch {
        throw new Error(`its output is not JSON (${text.slice(0, 80)})`);
      }
    }
    for (const line of r.stdout.split("\n")) if (line.trim()) out(line);
    return undefined;
  }

  private context(p: LoadedPlugin, out: Out): PluginContext & { docker?: DockerParts } {
    return {
      plugin: p.manifest.name,
      dir: p.dir,
      namespace: this.deps.namespace,
      settings: this.settingsOf(p),
      kv: kvFor(this.deps.store, p.manifest.name),
      out,
      discovery: discoveryFor(this.deps.namespace),
      docker: this.deps.docker,
    };
  }

  private settingsOf(p: LoadedPlugin): Record<string, string | undefined> {
    return Object.fromEntries(p.manifest.settings.map((s) => [s.name, this.deps.env[s.name] || s.default]));
  }

  /** Executables get a small environment: no platform secrets, only their declared settings. */
  private execEnv(p: LoadedPlugin, extra: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {
      PATH: this.deps.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: this.deps.env.HOME ?? "/",
      LANG: this.deps.env.LANG ?? "C.UTF-8",
      PAAS_PLUGIN_NAME: p.manifest.name,
      PAAS_PLUGIN_DIR: p.dir,
      PAAS_NAMESPACE: this.deps.namespace,
      ...extra,
    };
    for (const [k, v] of Object.entries(this.settingsOf(p))) if (v !== undefined) env[k] = v;
    return env;
  }

  private module(file: string): Promise<PluginModule> {
    let m = this.modules.get(file);
    if (!m) {
      m = import(pathToFileURL(file).href).then((x) => (x.default ?? x) as PluginModule);
      m.catch(() => this.modules.delete(file));
      this.modules.set(file, m);
    }
    return m;
  }

  private withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PluginTimeout(what, this.deps.timeoutMs)), this.deps.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

/** The module to import: in the plugin's folder, or (TypeScript in a root with a build) compiled. */
function moduleFileOf(m: Manifest, dir: string, root: PluginRoot): string | undefined {
  if (!m.module) return undefined;
  if (root.compiledDir && m.module.endsWith(".ts")) {
    return path.join(root.compiledDir, path.basename(dir), m.module.replace(/\.ts$/, ".js"));
  }
  return path.join(dir, m.module);
}

/**
 * A plugin command's error as the user sees it: a plugin cannot construct our error classes
 * (it imports only types), so it sets `code` ("forbidden", "not_found", "conflict") on an Error.
 */
function asUserError(err: unknown): PaasError {
  if (isPaasError(err)) return err;
  const msg = messageOf(err);
  if (err instanceof PluginTimeout) return new PaasError("unavailable", msg);
  const code = (err as { code?: unknown })?.code;
  if (code === "forbidden") return forbidden(msg);
  if (code === "not_found") return notFound(msg);
  if (code === "conflict") return conflict(msg);
  return invalid(msg);
}

function kvFor(store: Store, plugin: string): PluginKv {
  return {
    get: async <T>(key: string) => (await store.plugins.dataGet(plugin, key)) as T | undefined,
    set: (key, value) => store.plugins.dataSet(plugin, key, value),
    del: (key) => store.plugins.dataDel(plugin, key),
    list: async <T>(prefix?: string) => (await store.plugins.dataList(plugin, prefix)) as Record<string, T>,
  };
}

async function readManifest(dir: string): Promise<string> {
  try {
    return await fsp.readFile(path.join(dir, MANIFEST_FILE), "utf8");
  } catch {
    throw invalid(`no ${MANIFEST_FILE} in ${dir}: a plugin needs a manifest at its root`);
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
