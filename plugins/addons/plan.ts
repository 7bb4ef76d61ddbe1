// Add-on services, as plain data: what a postgres or redis add-on is (image, port, data
// path, URL form), and the exact Docker options for its container, volume and network.
// No I/O here: the executor (lifecycle.ts) sends these to Docker.

import crypto from "node:crypto";
import type { ContainerSpec } from "../../src/docker/containers.js";
import { postgres } from "../postgres/service.js";
import { redis } from "../redis/service.js";
import { AddonError } from "./errors.js";
import type { Addon, ServiceKind, ServiceName } from "./types.js";

export type { Addon, Attachment, ServiceKind, ServiceName } from "./types.js";

const invalid = (message: string) => new AddonError(message, 400);

export const SERVICES: Record<ServiceName, ServiceKind> = { postgres, redis };

/** Heroku's names for the services, and ours. */
const ALIASES: Record<string, ServiceName> = {
  postgres: "postgres",
  postgresql: "postgres",
  "heroku-postgresql": "postgres",
  pg: "postgres",
  redis: "redis",
  "heroku-redis": "redis",
};

export function parseService(raw: unknown): ServiceKind {
  const key = typeof raw === "string" ? raw.split(":")[0].toLowerCase() : "";
  const name = ALIASES[key];
  if (!name) throw invalid(`unknown add-on service "${String(raw ?? "")}": use postgres or redis`);
  return SERVICES[name];
}

const ADDON_NAME = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

export function parseAddonName(raw: unknown): string {
  if (typeof raw !== "string" || !ADDON_NAME.test(raw) || raw.includes("--"))
    throw invalid(
      `add-on name "${String(raw ?? "").slice(0, 60)}" is invalid: 3-40 lower-case letters, digits and single dashes, starting with a letter`,
    );
  return raw;
}

/** DATABASE, HEROKU_POSTGRESQL_RED...: what goes before _URL. */
export function parseAs(raw: unknown, kind: ServiceKind): string {
  if (raw === undefined || raw === null || raw === "") return kind.defaultAs;
  const as = String(raw).toUpperCase().replace(/_URL$/, "");
  if (!/^[A-Z][A-Z0-9_]{0,40}$/.test(as))
    throw invalid(
      `--as "${String(raw).slice(0, 60)}" is invalid: use letters, digits and _ (e.g. --as DATABASE)`,
    );
  return as;
}

export function configVar(as: string): string {
  return `${as}_URL`;
}

/** `postgres-1a2b3c`: unique enough per platform, and a valid DNS label. */
export function newAddonName(kind: ServiceKind, rand: () => Buffer = () => crypto.randomBytes(3)): string {
  return `${kind.name}-${rand().toString("hex")}`;
}

export function newCredentials(kind: ServiceKind): { user: string; password: string; database: string } {
  const hex = crypto.randomBytes(4).toString("hex");
  return {
    user: kind.name === "postgres" ? `u${hex}` : "default",
    password: crypto.randomBytes(24).toString("base64url"),
    database: kind.name === "postgres" ? `d${hex}` : "0",
  };
}

export const ADDON_LABEL = "paas.addon";
export const ADDON_SERVICE_LABEL = "paas.addon.service";

export function containerName(namespace: string, addon: string): string {
  return `${namespace}-addon-${addon}`;
}
export function volumeName(namespace: string, addon: string): string {
  return `${namespace}-addon-${addon}-data`;
}
/** One private network per add-on: the service and the containers of apps it is attached to. */
export function networkName(namespace: string, addon: string): string {
  return `${namespace}-addon-${addon}`;
}

/** The name an app reaches its add-on by: `<addon>.<app>.internal`. */
export function hostFor(addon: string, app: string): string {
  return `${addon}.${app}.internal`;
}

/** The platform's ownership labels (src/docker/labels.ts) plus the add-on's. */
export function addonLabels(namespace: string, a: Pick<Addon, "name" | "service">): Record<string, string> {
  return {
    "paas.managed": "true",
    "paas.namespace": namespace,
    "paas.kind": "addon",
    [ADDON_LABEL]: a.name,
    [ADDON_SERVICE_LABEL]: a.service,
  };
}

/** Aliases of the service on its network: its name, and `<addon>.<app>.internal` per attached app. */
export function aliasesFor(a: Addon): string[] {
  return [
    ...new Set([a.name, ...a.attachments.flatMap((t) => [hostFor(a.name, t.app), ...(t.hosts ?? [])])]),
  ];
}

/**
 * The service container: on the add-on's network only (no published port), the named volume
 * at the data path, restarted by Docker unless stopped (dockerd restarts) and by the
 * plugin's reconcile (removed containers).
 */
export function planService(namespace: string, a: Addon, memory: number | null): ContainerSpec {
  const kind = SERVICES[a.service];
  const network = networkName(namespace, a.name);
  return {
    name: containerName(namespace, a.name),
    Image: a.image,
    Env: kind.env(a),
    Labels: addonLabels(namespace, a),
    HostConfig: {
      RestartPolicy: { Name: "unless-stopped" },
      Mounts: [{ Type: "volume", Source: volumeName(namespace, a.name), Target: kind.dataPath }],
      NetworkMode: network,
      Memory: memory ?? undefined,
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "2" } },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: aliasesFor(a) } } },
  };
}

/** Config vars an app gets from its attachments of this add-on. */
export function urlsFor(a: Addon, app: string): Record<string, string> {
  const kind = SERVICES[a.service];
  const out: Record<string, string> = {};
  for (const t of a.attachments.filter((x) => x.app === app))
    out[configVar(t.as)] = kind.url(a, hostFor(a.name, app));
  return out;
}
