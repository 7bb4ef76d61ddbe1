import type { Redis } from "ioredis";
import { type DomainOptions, routeParts } from "./domains.js";
import type { Keys } from "./keys.js";
import type { RouterSettings } from "./router-settings.js";

export interface Backend {
  host: string;
  port: number;
  /** Container id or name, for logs. */
  id?: string;
}

/** What the router needs to know about one app. */
export interface RouteEntry {
  app: string;
  /** Web containers that passed their checks; empty means "known app, nothing running". */
  backends: Backend[];
  /** Extra host names (custom domains) besides <app>.<PAAS_DOMAIN>. */
  domains: string[];
  /**
   * The previous release's web containers while a deploy watches the new ones: the router
   * sends a request here only when every backend failed, so a new container dying in that
   * window costs no request.
   */
  standby?: Backend[];
  /** Default domain on/off, HTTPS redirect, HSTS (domains.ts); absent: the defaults. */
  domainOptions?: DomainOptions;
  /** Per-app router settings that differ from the defaults (router-settings.ts). */
  settings?: RouterSettings;
}

/**
 * Route table in Redis: one JSON record per app, and a pub/sub channel that carries the
 * name of each app whose route changed, so routers reload that entry without a restart.
 */
export class RoutesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string): Promise<RouteEntry | null> {
    const raw = await this.redis.get(this.keys.route(app));
    return raw ? (await this.withDomains([JSON.parse(raw) as RouteEntry]))[0] : null;
  }

  async all(): Promise<RouteEntry[]> {
    const apps = await this.redis.smembers(this.keys.routeApps());
    if (apps.length === 0) return [];
    const raws = await this.redis.mget(apps.map((a) => this.keys.route(a)));
    return this.withDomains(
      raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as RouteEntry),
    );
  }

  /** Domains and their options live in the domain store (claimed atomically there): read them in. */
  private async withDomains(entries: RouteEntry[]): Promise<RouteEntry[]> {
    const named = entries.filter((e) => typeof e?.app === "string");
    const parts = await routeParts(
      this.redis,
      this.keys,
      named.map((e) => e.app),
    );
    named.forEach((e, i) => {
      e.domains = parts[i].domains;
      e.domainOptions = parts[i].options;
    });
    return entries;
  }

  async put(entry: RouteEntry): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.route(entry.app), JSON.stringify({ ...entry, domains: [], domainOptions: undefined }))
      .sadd(this.keys.routeApps(), entry.app)
      .publish(this.keys.routeChannel(), entry.app)
      .exec();
  }

  /**
   * Replace the backends, and the standby list when given ([] clears it). Left out, the
   * standby list stays: a readiness change in the middle of a deploy's watch window must
   * not take the old containers' fallback away.
   */
  async setBackends(app: string, backends: Backend[], standby?: Backend[]): Promise<void> {
    const current = (await this.get(app)) ?? { app, backends: [], domains: [] };
    const { standby: old, ...rest } = current;
    const keep = standby ?? old ?? [];
    await this.put(keep.length > 0 ? { ...rest, backends, standby: keep } : { ...rest, backends });
  }

  async remove(app: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.route(app))
      .srem(this.keys.routeApps(), app)
      .publish(this.keys.routeChannel(), app)
      .exec();
  }

  /**
   * Call onChange(app) for every change. Needs its own connection (a subscribed ioredis
   * client can do nothing else). Returns an unsubscribe function.
   */
  async subscribe(subscriber: Redis, onChange: (app: string) => void): Promise<() => Promise<void>> {
    const channel = this.keys.routeChannel();
    const handler = (ch: string, message: string) => {
      if (ch === channel) onChange(message);
    };
    subscriber.on("message", handler);
    await subscriber.subscribe(channel);
    return async () => {
      subscriber.off("message", handler);
      await subscriber.unsubscribe(channel).catch(() => {});
    };
  }
}
