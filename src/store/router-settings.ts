import type { Redis } from "ioredis";
import { invalid } from "../errors.js";
import type { Keys } from "./keys.js";
import type { RouteEntry } from "./routes.js";

// Per-app router settings (`paas router:set`, `paas maintenance:on`). They live inside the
// app's route entry, so they reach every router process through the same change feed as
// its backends and domains, in the same atomic swap. Only values that differ from the
// defaults are stored.

export interface RouterSettings {
  /** Largest request body accepted, bytes; past it the router answers 413. */
  maxBodyBytes?: number;
  /** Time to open a connection to a backend before trying another. */
  connectTimeoutMs?: number;
  /** Time the app gets, once it has the whole request, to start its response (504 after). */
  firstByteTimeoutMs?: number;
  /** Longest silence on the app's connection once its response has started. */
  idleTimeoutMs?: number;
  /** Answer every request with the 503 maintenance page. */
  maintenance?: boolean;
}

export type RouterSettingKey =
  | "client-max-body-size"
  | "connect-timeout"
  | "first-byte-timeout"
  | "idle-timeout";

interface KeySpec {
  field: Exclude<keyof RouterSettings, "maintenance">;
  kind: "bytes" | "ms";
  default: number;
  min: number;
  max: number;
  describe: string;
}

const MB = 1024 * 1024;

/** The `router:set` keys, Dokku's nginx:set names where one exists; defaults are Heroku's. */
export const ROUTER_KEYS: Record<RouterSettingKey, KeySpec> = {
  "client-max-body-size": {
    field: "maxBodyBytes",
    kind: "bytes",
    default: 100 * MB,
    min: 1024,
    max: 64 * 1024 * MB,
    describe: "largest request body (413 past it)",
  },
  "connect-timeout": {
    field: "connectTimeoutMs",
    kind: "ms",
    default: 5_000,
    min: 10,
    max: 120_000,
    describe: "time to connect to a backend before trying another",
  },
  "first-byte-timeout": {
    field: "firstByteTimeoutMs",
    kind: "ms",
    default: 30_000,
    min: 100,
    max: 3_600_000,
    describe: "time the app has to start its response (504 past it)",
  },
  "idle-timeout": {
    field: "idleTimeoutMs",
    kind: "ms",
    default: 55_000,
    min: 100,
    max: 3_600_000,
    describe: "longest silence once the response has started",
  },
};

export const DEFAULT_ROUTER_SETTINGS: Required<RouterSettings> = {
  maxBodyBytes: ROUTER_KEYS["client-max-body-size"].default,
  connectTimeoutMs: ROUTER_KEYS["connect-timeout"].default,
  firstByteTimeoutMs: ROUTER_KEYS["first-byte-timeout"].default,
  idleTimeoutMs: ROUTER_KEYS["idle-timeout"].default,
  maintenance: false,
};

export function parseRouterKey(raw: string): RouterSettingKey {
  if (Object.hasOwn(ROUTER_KEYS, raw)) return raw as RouterSettingKey;
  throw invalid(`unknown router setting "${raw}": use one of ${Object.keys(ROUTER_KEYS).join(", ")}`);
}

/** "100m", "512k", "1g", "1048576" -> bytes; "30s", "500ms", "2m", "30" (seconds) -> ms. */
export function parseRouterValue(key: RouterSettingKey, raw: string): number {
  const spec = ROUTER_KEYS[key];
  const v = raw.trim().toLowerCase();
  let n = Number.NaN;
  if (spec.kind === "bytes") {
    const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/.exec(v);
    if (m)
      n = Math.round(Number(m[1]) * { "": 1, k: 1024, m: MB, g: 1024 * MB }[m[2] as "" | "k" | "m" | "g"]);
  } else {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v);
    if (m) n = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? "s") as "ms" | "s" | "m"]);
  }
  const example = spec.kind === "bytes" ? "100m, 512k or 1g" : "30s, 500ms or 2m";
  if (!Number.isFinite(n))
    throw invalid(`${key} value "${raw}" is not understood: give a value like ${example}`);
  if (n < spec.min || n > spec.max) {
    throw invalid(
      `${key} must be between ${formatRouterValue(key, spec.min)} and ${formatRouterValue(key, spec.max)} (got ${raw})`,
    );
  }
  return n;
}

export function formatRouterValue(key: RouterSettingKey, n: number): string {
  if (ROUTER_KEYS[key].kind === "ms") return n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
  for (const [unit, size] of [
    ["g", 1024 * MB],
    ["m", MB],
    ["k", 1024],
  ] as const) {
    if (n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

/** Keep only well-formed known fields of a stored `settings` value (records come from Redis). */
export function cleanRouterSettings(raw: unknown): RouterSettings | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const out: RouterSettings = {};
  for (const spec of Object.values(ROUTER_KEYS)) {
    const v = r[spec.field];
    if (typeof v === "number" && Number.isFinite(v) && v >= spec.min && v <= spec.max) out[spec.field] = v;
  }
  if (r.maintenance === true) out.maintenance = true;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The setting values in effect, defaults filled in. */
export function effectiveRouterSettings(s: RouterSettings | undefined): Required<RouterSettings> {
  return { ...DEFAULT_ROUTER_SETTINGS, ...s };
}

export class RouterSettingsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string): Promise<RouterSettings> {
    const raw = await this.redis.get(this.keys.route(app));
    return raw ? (cleanRouterSettings((JSON.parse(raw) as RouteEntry).settings) ?? {}) : {};
  }

  /**
   * Change some settings (undefined resets one to its default) in the app's route entry and
   * tell the routers. Optimistic: WATCH the entry, so a deploy changing the backends at the
   * same moment makes us read again instead of one write losing the other's change.
   */
  async update(
    app: string,
    patch: Partial<Record<keyof RouterSettings, number | boolean | undefined>>,
  ): Promise<RouterSettings> {
    const key = this.keys.route(app);
    // WATCH belongs to a connection: a connection of our own, so no other request's EXEC
    // on the shared one can clear it.
    const redis = this.redis.duplicate();
    try {
      return await this.apply(redis, app, key, patch);
    } finally {
      redis.disconnect();
    }
  }

  private async apply(
    redis: Redis,
    app: string,
    key: string,
    patch: Partial<Record<keyof RouterSettings, number | boolean | undefined>>,
  ): Promise<RouterSettings> {
    for (let attempt = 0; attempt < 20; attempt++) {
      await redis.watch(key);
      const raw = await redis.get(key);
      const entry: RouteEntry = raw ? (JSON.parse(raw) as RouteEntry) : { app, backends: [], domains: [] };
      const next: Record<string, unknown> = { ...cleanRouterSettings(entry.settings) };
      for (const [field, value] of Object.entries(patch)) {
        if (value === undefined || value === false) delete next[field];
        else next[field] = value;
      }
      const settings = cleanRouterSettings(next);
      const updated: RouteEntry = { ...entry };
      if (settings) updated.settings = settings;
      else delete updated.settings;
      const done = await redis
        .multi()
        .set(key, JSON.stringify(updated))
        .sadd(this.keys.routeApps(), app)
        .publish(this.keys.routeChannel(), app)
        .exec();
      if (done !== null) return settings ?? {};
    }
    throw new Error(`router settings of ${app} kept changing under us; try again`);
  }
}
