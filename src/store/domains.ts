import type { Redis } from "ioredis";
import { conflict, invalid, notFound } from "../errors.js";
import type { Keys } from "./keys.js";

// Custom domains. One hash maps every claimed name to its app: claiming is one Lua script
// that checks every name and then takes them all, so two apps racing for a name cannot both
// get it, and a request for several names takes none when one is taken. Each app keeps its
// set of names and a small hash of routing options; the route table reads both through
// RoutesStore (routeParts below), and every change is published on the route channel so
// every router process reloads that app.

/** Per-app routing options users set with domains:* and https:* commands. */
export interface DomainOptions {
  /** `<app>.<PAAS_DOMAIN>` is served (domains:disable-default turns it off). */
  defaultDomain: boolean;
  /** Plain HTTP requests are redirected to HTTPS (308, 301 for GET/HEAD). */
  httpsRedirect: boolean;
  /** HSTS max-age in seconds, sent on HTTPS answers; null: no HSTS header. */
  hstsMaxAge: number | null;
}

export const DEFAULT_OPTIONS: DomainOptions = { defaultDomain: true, httpsRedirect: false, hstsMaxAge: null };

/** Heroku's limit per app is in the thousands; a bound keeps one app from filling the table. */
export const MAX_DOMAINS_PER_APP = 1_000;

const CLAIM = `
local owners, mine, app, channel, max = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3])
local fresh = 0
for i = 4, #ARGV do
  local owner = redis.call('HGET', owners, ARGV[i])
  if owner and owner ~= app then return {'taken', ARGV[i]} end
  if not owner then fresh = fresh + 1 end
end
if redis.call('SCARD', mine) + fresh > max then return {'full', ''} end
for i = 4, #ARGV do
  redis.call('HSET', owners, ARGV[i], app)
  redis.call('SADD', mine, ARGV[i])
end
redis.call('PUBLISH', channel, app)
return {'ok', ''}
`;

const RELEASE = `
local owners, mine, app, channel = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local gone = 0
for i = 3, #ARGV do
  if redis.call('HGET', owners, ARGV[i]) == app then redis.call('HDEL', owners, ARGV[i]) end
  gone = gone + redis.call('SREM', mine, ARGV[i])
end
redis.call('PUBLISH', channel, app)
return gone
`;

export class DomainsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async list(app: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.domains(app))).sort();
  }

  /** The app that holds a name, or null. */
  async owner(name: string): Promise<string | null> {
    return this.redis.hget(this.keys.domainOwners(), name);
  }

  /** Claim names (already normalised) for an app: all of them, or none and a 409. */
  async add(app: string, names: string[]): Promise<void> {
    if (names.length === 0) return;
    const [verdict, name] = (await this.redis.eval(
      CLAIM,
      2,
      this.keys.domainOwners(),
      this.keys.domains(app),
      app,
      this.keys.routeChannel(),
      String(MAX_DOMAINS_PER_APP),
      ...names,
    )) as [string, string];
    // "another app": with several users, naming the owner would tell one user about another's apps.
    if (verdict === "taken") {
      throw conflict(
        `${name} is already claimed by another app; remove it there first (paas domains:remove)`,
      );
    }
    if (verdict === "full") throw invalid(`an app can have at most ${MAX_DOMAINS_PER_APP} domains`);
  }

  async remove(app: string, name: string): Promise<void> {
    const gone = await this.release(app, [name]);
    if (gone === 0)
      throw notFound(`${name} is not a domain of ${app}; list them with paas domains -a ${app}`);
  }

  /** Release every custom domain of the app; returns how many there were. */
  async clear(app: string): Promise<number> {
    const names = await this.list(app);
    return names.length === 0 ? 0 : this.release(app, names);
  }

  async options(app: string): Promise<DomainOptions> {
    return parseOptions(await this.redis.hgetall(this.keys.domainOptions(app)));
  }

  async setOptions(app: string, patch: Partial<DomainOptions>): Promise<DomainOptions> {
    const fields: Record<string, string> = {};
    if (patch.defaultDomain !== undefined) fields.defaultDomain = patch.defaultDomain ? "1" : "0";
    if (patch.httpsRedirect !== undefined) fields.httpsRedirect = patch.httpsRedirect ? "1" : "0";
    if (patch.hstsMaxAge !== undefined)
      fields.hstsMaxAge = patch.hstsMaxAge === null ? "" : String(patch.hstsMaxAge);
    const key = this.keys.domainOptions(app);
    const [[, raw]] = (await this.redis
      .multi()
      .hset(key, fields)
      .hgetall(key)
      .publish(this.keys.routeChannel(), app)
      .exec()) as [unknown, Record<string, string>][];
    return parseOptions(raw);
  }

  /** Forget everything about the app's domains (apps:destroy). */
  async destroy(app: string): Promise<void> {
    await this.clear(app);
    await this.redis.del(this.keys.domains(app), this.keys.domainOptions(app));
  }

  private async release(app: string, names: string[]): Promise<number> {
    return (await this.redis.eval(
      RELEASE,
      2,
      this.keys.domainOwners(),
      this.keys.domains(app),
      app,
      this.keys.routeChannel(),
      ...names,
    )) as number;
  }
}

function parseOptions(raw: Record<string, string>): DomainOptions {
  const maxAge = raw.hstsMaxAge ? Number(raw.hstsMaxAge) : Number.NaN;
  return {
    defaultDomain: raw.defaultDomain !== "0",
    httpsRedirect: raw.httpsRedirect === "1",
    hstsMaxAge: Number.isInteger(maxAge) && maxAge >= 0 ? maxAge : null,
  };
}

/** What a route entry carries from the domain store. */
export interface RouteParts {
  domains: string[];
  options: DomainOptions;
}

/** Domains and options of many apps in one round trip (the route table's loads). */
export async function routeParts(redis: Redis, keys: Keys, apps: readonly string[]): Promise<RouteParts[]> {
  if (apps.length === 0) return [];
  const p = redis.pipeline();
  for (const app of apps) p.smembers(keys.domains(app)).hgetall(keys.domainOptions(app));
  const results = (await p.exec()) ?? [];
  const out: RouteParts[] = [];
  for (let i = 0; i < apps.length; i++) {
    const [errD, domains] = results[2 * i] ?? [];
    const [errO, options] = results[2 * i + 1] ?? [];
    if (errD || errO) throw errD ?? errO;
    out.push({
      domains: ((domains as string[]) ?? []).sort(),
      options: parseOptions((options as Record<string, string>) ?? {}),
    });
  }
  return out;
}
