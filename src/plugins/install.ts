import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { conflict, invalid, messageOf } from "../errors.js";
import type { Store } from "../store/index.js";
import type { InstalledPlugin } from "../store/plugins.js";
import type { PluginHost } from "./host.js";

// plugins:install / plugins:uninstall: a plugin comes from a git URL (cloned, file:// too)
// or a local directory (copied) into <dataDir>/plugins/<name>, is checked like a bundled
// one (manifest, module, an executable per trigger), recorded in Redis and enabled.

const run = promisify(execFile);

const GIT_URL = /^(?:(?:https?|git|ssh|file):\/\/|[\w.-]+@[\w.-]+:)/;

export function installDir(dataDir: string): string {
  return path.join(dataDir, "plugins");
}

export async function installPlugin(
  host: PluginHost,
  store: Store,
  dataDir: string,
  source: string,
): Promise<InstalledPlugin> {
  if (typeof source !== "string" || source.trim() === "") {
    throw invalid("name a plugin to install: a git URL (https://, file://, git@host:repo) or a directory");
  }
  const root = installDir(dataDir);
  await fsp.mkdir(root, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(root, ".install-"));
  try {
    const staged = path.join(tmp, "plugin");
    if (GIT_URL.test(source)) {
      try {
        await run("git", ["clone", "--quiet", "--depth", "1", "--", source, staged], { timeout: 120_000 });
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr?.trim().split("\n").pop();
        throw invalid(`could not clone ${source}: ${stderr || messageOf(err)}`);
      }
    } else {
      if (!path.isAbsolute(source) || !fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
        throw invalid(`${source} is neither a git URL nor a directory on the server (give an absolute path)`);
      }
      await fsp.cp(source, staged, { recursive: true, filter: (f) => path.basename(f) !== ".git" });
    }
    const manifest = await host.check(staged, { dir: root, bundled: false });
    const taken = (await host.list()).find((p) => p.manifest.name === manifest.name);
    if (taken) {
      throw conflict(
        `a plugin named ${manifest.name} is already ${taken.bundled ? "bundled" : "installed"}; uninstall it first`,
      );
    }
    const final = path.join(root, manifest.name);
    await fsp.rm(final, { recursive: true, force: true });
    await fsp.rename(staged, final);
    const rec: InstalledPlugin = {
      name: manifest.name,
      source,
      dir: final,
      version: manifest.version,
      installedAt: new Date().toISOString(),
    };
    await store.plugins.setEnabled(manifest.name, true);
    await store.plugins.addInstalled(rec);
    return rec;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

export async function uninstallPlugin(host: PluginHost, store: Store, name: string): Promise<void> {
  const p = await host.get(name);
  if (p.bundled)
    throw invalid(`${name} is bundled with the platform: disable it instead (plugins:disable ${name})`);
  await store.plugins.removeInstalled(name);
  await fsp.rm(p.dir, { recursive: true, force: true });
}
