import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** A plugin installed from a git URL or a path (bundled ones are not recorded: they are found). */
export interface InstalledPlugin {
  name: string;
  /** What it was installed from (git URL or path), as given. */
  source: string;
  /** Where its files are (under the data dir). */
  dir: string;
  version: string;
  installedAt: string;
}

/** Plugin state: what is installed, what is disabled, and each plugin's own key-value data. */
export class PluginsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async installed(): Promise<InstalledPlugin[]> {
    const h = await this.redis.hgetall(this.keys.pluginsInstalled());
    return Object.values(h)
      .map((v) => JSON.parse(v) as InstalledPlugin)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async addInstalled(p: InstalledPlugin): Promise<void> {
    await this.redis.hset(this.keys.pluginsInstalled(), p.name, JSON.stringify(p));
  }

  async removeInstalled(name: string): Promise<void> {
    await this.redis
      .multi()
      .hdel(this.keys.pluginsInstalled(), name)
      .srem(this.keys.pluginsDisabled(), name)
      .exec();
  }

  async disabled(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.pluginsDisabled()));
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    if (enabled) await this.redis.srem(this.keys.pluginsDisabled(), name);
    else await this.redis.sadd(this.keys.pluginsDisabled(), name);
  }

  async dataGet(plugin: string, key: string): Promise<unknown> {
    const v = await this.redis.hget(this.keys.pluginData(plugin), key);
    return v === null ? undefined : JSON.parse(v);
  }

  async dataSet(plugin: string, key: string, value: unknown): Promise<void> {
    await this.redis.hset(this.keys.pluginData(plugin), key, JSON.stringify(value));
  }

  async dataDel(plugin: string, key: string): Promise<void> {
    await this.redis.hdel(this.keys.pluginData(plugin), key);
  }

  async dataList(plugin: string, prefix = ""): Promise<Record<string, unknown>> {
    const h = await this.redis.hgetall(this.keys.pluginData(plugin));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(h)) if (k.startsWith(prefix)) out[k] = JSON.parse(v);
    return out;
  }
}
