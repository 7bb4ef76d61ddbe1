import type { DomainOptions } from "../store/domains.js";
import { cleanRouterSettings } from "../store/router-settings.js";
import type { Backend, RouteEntry } from "../store/routes.js";

// The router's view of the route table: plain immutable data built by pure functions.
// The router holds one reference to the current table and swaps it whole, so a request
// never sees half of an update, and a failed load simply leaves the last good table.

export interface RouteTable {
  readonly domain: string;
  /** Normalised host name -> app. */
  readonly hosts: ReadonlyMap<string, string>;
  readonly apps: ReadonlyMap<string, RouteEntry>;
  /** Host names claimed by more than one app, with the app that kept each (for logs). */
  readonly conflicts: readonly string[];
  /** Some app redirects HTTP to HTTPS or sends HSTS: only then does a request pay for the check. */
  readonly httpsPolicies: boolean;
}

export function emptyTable(domain: string): RouteTable {
  return buildTable([], domain);
}

/**
 * Build the host table. `<app>.<domain>` always belongs to its app (unless the app turned
 * it off), so a custom domain cannot take over another app's platform name. The domain
 * store refuses a second claim of a name; should two records still name the same host
 * (data from before claims existed), the first app by name keeps it, whatever order Redis
 * returned entries in, and the conflict is logged.
 */
export function buildTable(entries: readonly RouteEntry[], domain: string): RouteTable {
  const base = normalizeName(domain) ?? domain;
  const apps = new Map<string, RouteEntry>();
  for (const e of [...entries].sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0)))
    apps.set(e.app, e);

  const hosts = new Map<string, string>();
  const conflicts: string[] = [];
  let httpsPolicies = false;
  for (const entry of apps.values()) {
    const o = entry.domainOptions;
    if (o?.defaultDomain !== false) hosts.set(`${entry.app}.${base}`, entry.app);
    if (o?.httpsRedirect || (o?.hstsMaxAge ?? null) !== null) httpsPolicies = true;
  }
  for (const entry of apps.values()) {
    for (const raw of entry.domains) {
      const host = normalizeName(raw);
      if (!host) continue;
      const owner = hosts.get(host);
      if (owner === undefined) hosts.set(host, entry.app);
      else if (owner !== entry.app) conflicts.push(`${host} claimed by ${entry.app}, kept for ${owner}`);
    }
  }
  return { domain: base, hosts, apps, conflicts, httpsPolicies };
}

/** A new table with one app's entry replaced (or removed when entry is null). */
export function withEntry(table: RouteTable, app: string, entry: RouteEntry | null): RouteTable {
  const others = [...table.apps.values()].filter((e) => e.app !== app);
  return buildTable(entry ? [...others, entry] : others, table.domain);
}

/**
 * Host header -> bare host name: drops the port (also after an IPv6 literal), lower-cases,
 * and drops trailing dots (`app.example.com.` is the same name). Null when nothing is left.
 */
export function normalizeHost(header: string | undefined | null): string | null {
  if (!header) return null;
  let host = header.trim();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon !== -1 && /^\d*$/.test(host.slice(colon + 1))) host = host.slice(0, colon);
  }
  return normalizeName(host);
}

function normalizeName(name: string): string | null {
  const n = name.trim().toLowerCase().replace(/\.+$/, "");
  return n === "" ? null : n;
}

/**
 * The entry serving a Host header: an exact name first, then the longest wildcard suffix.
 * `*.example.com` serves `shop.example.com` and `a.b.example.com` (one or more labels, as
 * DNS wildcards do), unless a `*.b.example.com` or an exact name is more specific.
 */
export function lookup(table: RouteTable, hostHeader: string | undefined | null): RouteEntry | null {
  const host = normalizeHost(hostHeader);
  if (!host) return null;
  let app = table.hosts.get(host);
  // Each dot starts a shorter suffix: the first hit is the longest wildcard.
  for (let dot = host.indexOf("."); app === undefined && dot > 0; dot = host.indexOf(".", dot + 1)) {
    app = table.hosts.get(`*${host.slice(dot)}`);
  }
  return app === undefined ? null : (table.apps.get(app) ?? null);
}

/**
 * lookup() with a memo of Host header -> entry, kept for as long as the table is the same
 * object (every change swaps in a new one). Bounded: the Host header is whatever clients
 * send, so past `max` different ones the memo starts over.
 */
export class HostLookup {
  private of: RouteTable | undefined;
  private readonly memo = new Map<string, RouteEntry | null>();

  constructor(
    private readonly table: () => RouteTable,
    private readonly max = 1_024,
  ) {}

  get(hostHeader: string | undefined): RouteEntry | null {
    const table = this.table();
    if (table !== this.of) {
      this.of = table;
      this.memo.clear();
    }
    if (hostHeader === undefined) return null;
    let entry = this.memo.get(hostHeader);
    if (entry === undefined) {
      entry = lookup(table, hostHeader);
      if (this.memo.size >= this.max) this.memo.clear();
      this.memo.set(hostHeader, entry);
    }
    return entry;
  }
}

/**
 * Check an entry read from Redis before it can reach the table: a corrupt record must
 * fail its own reload rather than crash the router on the next request.
 */
export function validateEntry(raw: unknown): RouteEntry {
  const fail = (why: string): never => {
    throw new Error(`bad route entry: ${why}`);
  };
  if (typeof raw !== "object" || raw === null) return fail("not an object");
  const r = raw as Record<string, unknown>;
  if (typeof r.app !== "string" || r.app === "") return fail("missing app name");
  const backendsRaw = r.backends ?? [];
  const domainsRaw = r.domains ?? [];
  if (!Array.isArray(backendsRaw)) return fail(`${r.app}: backends is not a list`);
  if (!Array.isArray(domainsRaw) || domainsRaw.some((d) => typeof d !== "string")) {
    return fail(`${r.app}: domains is not a list of names`);
  }
  const standbyRaw = r.standby ?? [];
  if (!Array.isArray(standbyRaw)) return fail(`${r.app}: standby is not a list`);
  const toBackend = (b: any): Backend => {
    const ok =
      typeof b === "object" &&
      b !== null &&
      typeof b.host === "string" &&
      b.host !== "" &&
      Number.isInteger(b.port) &&
      b.port > 0 &&
      b.port < 65536;
    if (!ok) return fail(`${r.app}: backend ${JSON.stringify(b)} needs host and port`);
    return typeof b.id === "string"
      ? { host: b.host, port: b.port, id: b.id }
      : { host: b.host, port: b.port };
  };
  const backends = backendsRaw.map(toBackend);
  const entry: RouteEntry = { app: r.app, backends, domains: domainsRaw as string[] };
  if (standbyRaw.length > 0) entry.standby = standbyRaw.map(toBackend);
  const settings = cleanRouterSettings(r.settings);
  if (settings) entry.settings = settings;
  const options = cleanDomainOptions(r.domainOptions);
  if (options) entry.domainOptions = options;
  return entry;
}

/** Well-formed domain options only; undefined when absent (the defaults). */
function cleanDomainOptions(raw: unknown): DomainOptions | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const maxAge = r.hstsMaxAge;
  return {
    defaultDomain: r.defaultDomain !== false,
    httpsRedirect: r.httpsRedirect === true,
    hstsMaxAge: typeof maxAge === "number" && Number.isInteger(maxAge) && maxAge >= 0 ? maxAge : null,
  };
}

// Balancing and passive health (mark-down, ejection) live in balancer.ts; re-exported for
// the table's existing users.
export { Balancer, backendKey } from "./balancer.js";
