// The add-ons this platform runs, in the plugin's key-value state: `addon:<name>` -> Addon.

import type { PluginKv } from "../../src/plugins/types.js";
import { AddonError } from "./errors.js";
import type { Addon } from "./plan.js";

const PREFIX = "addon:";

export class Registry {
  constructor(private readonly kv: PluginKv) {}

  get(name: string): Promise<Addon | undefined> {
    return this.kv.get<Addon>(PREFIX + name);
  }

  async require(name: string): Promise<Addon> {
    const a = await this.get(name);
    if (!a) throw new AddonError(`add-on "${name}" does not exist; see \`paas addons\``, 404);
    return a;
  }

  save(a: Addon): Promise<void> {
    return this.kv.set(PREFIX + a.name, a);
  }

  remove(name: string): Promise<void> {
    return this.kv.del(PREFIX + name);
  }

  async all(): Promise<Addon[]> {
    const found = await this.kv.list<Addon>(PREFIX);
    return Object.values(found).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The add-ons attached to an app. */
  async of(app: string): Promise<Addon[]> {
    return (await this.all()).filter((a) => a.attachments.some((t) => t.app === app));
  }
}
