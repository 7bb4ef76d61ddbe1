import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { registrySettings, schedulerSettings } from "./config-swarm.js";
import { invalid } from "./errors.js";
import { parseDrainUrl } from "./logs/drains/url.js";

// Settings come from PAAS_* environment variables, are read once at start-up, checked
// with one message per bad value, and are passed down as plain data. Nothing else in the
// platform reads process.env.

export type Role = "api" | "git" | "worker" | "router";
export const ALL_ROLES: Role[] = ["api", "git", "worker", "router"];

export interface Settings {
  dataDir: string;
  redisUrl: string;
  /** Prefix for every Redis key, queue, Docker label value and name this platform owns. */
  namespace: string;
  domain: string;
  apiPort: number;
  httpPort: number;
  /** Router HTTPS port; null: no HTTPS listener (PAAS_HTTPS_PORT=off). */
  httpsPort: number | null;
  /** Platform default certificate for *.<PAAS_DOMAIN>: PEM files (PAAS_TLS_CERT, PAAS_TLS_KEY). */
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  /** ACME directory URL and account email for certs:auto. */
  acmeDirectory: string;
  acmeEmail: string | null;
  /** Offer HTTP/2 to clients on the HTTPS listener (ALPN). */
  http2: boolean;
  bind: string;
  roles: Role[];
  buildConcurrency: number;
  /** CA bundle mounted into builds (null: none). */
  buildCaBundle: string | null;
  buildHttpProxy: string | null;
  buildHttpsProxy: string | null;
  buildNoProxy: string | null;
  /** Default memory limit for app containers, bytes. */
  defaultMemory: number;
  /** Seconds a web container gets to accept connections on its port. */
  startTimeout: number;
  /** Seconds retired web containers keep serving in-flight requests before SIGTERM. */
  drainSeconds: number;
  /** Seconds between SIGTERM and SIGKILL. */
  stopTimeout: number;
  /** Seconds a new container must stay up before traffic moves (default check). */
  checkUptime: number;
  /** Releases whose images are kept. */
  releaseRetention: number;
  /** Seconds between reconcile passes. */
  reconcileInterval: number;
  /** Public URL of the API, as users and git see it. */
  apiUrl: string;
  /** Debian mirror for stack images. */
  stackMirror: string;
  stackBuildImage: string | null;
  stackRunImage: string | null;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Router processes (node:cluster workers); 0 runs the router inside the server process. */
  routerWorkers: number;
  /** Operator's error page templates (<page>.njk), searched before the built-in ones. */
  errorPagesDir: string | null;
  /** Lines kept per app in its log stream (PAAS_LOG_LINES). */
  logLines: number;
  /** Drains every app's log goes to, set by the operator (PAAS_LOG_DRAINS, comma-separated). */
  logDrains: string[];
  /** Seconds a plugin trigger or command may run before it is stopped (PAAS_PLUGIN_TIMEOUT). */
  pluginTimeout: number;
  /** Failed logins / token checks per source address before 429, and the window (seconds). */
  authFailureLimit: number;
  authFailureWindow: number;
  /** SSH git port (PAAS_SSH_PORT; 0: any free port); null: no SSH server. */
  sshPort: number | null;
  /** Whether PAAS_SSH_PORT was given (a busy default port only disables SSH). */
  sshPortSet: boolean;
  /** Key that seals secrets at rest (PAAS_SECRET_KEY, base64); null: the data dir's key file. */
  secretKey: Buffer | null;
  /** Earlier keys still accepted for reading (PAAS_SECRET_KEY_PREVIOUS, comma-separated). */
  secretKeysPrevious: Buffer[];
  /** Where apps run: docker (this engine's containers) or swarm (services on a Swarm; PAAS_SCHEDULER). */
  scheduler: "docker" | "swarm";
  /** Attachable overlay network of swarm tasks, the router and the checks (PAAS_SWARM_NETWORK). */
  swarmNetwork: string;
  /**
   * Registry every node pulls from, host:port (PAAS_REGISTRY; swarm's default: setup's own at
   * PAAS_REGISTRY_LISTEN); null: local images only (PAAS_REGISTRY=none, or the docker scheduler).
   */
  registry: string | null;
  /** Whether `registry` is setup's own registry (PAAS_REGISTRY unset in swarm mode). */
  registryLocal: boolean;
  /** That registry's config.yml when its storage is on this host: retention runs its GC (PAAS_REGISTRY_CONFIG). */
  registryConfig: string | null;
  /** Basic auth of the registry (PAAS_REGISTRY_USERNAME, PAAS_REGISTRY_PASSWORD): a secret, never logged. */
  registryAuth: { username: string; password: string } | null;
  /** Speak HTTPS to the registry's API (PAAS_REGISTRY_TLS), trusting this CA file too (PAAS_REGISTRY_CA). */
  registryTls: boolean;
  registryCa: string | null;
  /** Swarm: volume driver spanning nodes for plugins' volumes (PAAS_SWARM_VOLUME_DRIVER); null: pinned to the manager. */
  swarmVolumeDriver: string | null;
  /** Most processes (threads) an app container may run (PAAS_PIDS_LIMIT). */
  pidsLimit: number;
  /** Network Dockerfile builds run on: isolated (the platform's, no way to the host), or a Docker network name. */
  buildNetwork: string;
}

export { DEFAULT_REGISTRY_LISTEN, localRegistryConfig } from "./config-swarm.js";
export { SETTINGS_DOC, type SettingDoc } from "./settings-doc.js";

type Env = Record<string, string | undefined>;

export function loadSettings(env: Env = process.env): Settings {
  const problems: string[] = [];
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

  const str = (name: string, fallback: string) => {
    const v = env[name];
    return v === undefined || v === "" ? fallback : v;
  };
  const port = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      problems.push(`${name}="${raw}" is not a port number (0-65535)`);
      return fallback;
    }
    return n;
  };
  const positiveInt = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < 1) {
      problems.push(`${name}="${raw}" must be a whole number of 1 or more`);
      return fallback;
    }
    return n;
  };

  const nonNegative = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(n) || n < 0) {
      problems.push(`${name}="${raw}" must be a number of 0 or more (seconds)`);
      return fallback;
    }
    return n;
  };

  const dataDir = path.resolve(
    str("PAAS_DATA_DIR", isRoot ? "/var/lib/paas" : path.join(os.homedir(), ".paas")),
  );
  const redisUrl = str("PAAS_REDIS_URL", "redis://127.0.0.1:6379");
  if (!/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    problems.push(`PAAS_REDIS_URL="${redisUrl}" must look like redis://host:port[/db]`);
  }
  const namespace = str("PAAS_NAMESPACE", "paas");
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(namespace)) {
    problems.push(
      `PAAS_NAMESPACE="${namespace}" must be lower-case letters, digits and dashes, starting with a letter`,
    );
  }
  const domain = str("PAAS_DOMAIN", "localhost").toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
    problems.push(`PAAS_DOMAIN="${domain}" is not a valid domain name`);
  }
  const apiPort = port("PAAS_API_PORT", 5100);
  const httpPort = port("PAAS_HTTP_PORT", isRoot ? 80 : 8080);
  const httpsRaw = str("PAAS_HTTPS_PORT", "");
  const httpsPort = httpsRaw === "off" ? null : port("PAAS_HTTPS_PORT", isRoot ? 443 : 8443);
  if (httpsPort !== null && httpsPort !== 0 && httpsPort === httpPort) {
    problems.push(`PAAS_HTTPS_PORT=${httpsPort} is also PAAS_HTTP_PORT: give them different ports`);
  }
  const pemFile = (name: string) => {
    const raw = env[name];
    if (!raw) return null;
    if (!fs.existsSync(raw) || !fs.statSync(raw).isFile()) {
      problems.push(`${name}="${raw}" does not exist: point it at a PEM file`);
      return null;
    }
    return path.resolve(raw);
  };
  const tlsCertFile = pemFile("PAAS_TLS_CERT");
  const tlsKeyFile = pemFile("PAAS_TLS_KEY");
  if ((env.PAAS_TLS_CERT ? 1 : 0) + (env.PAAS_TLS_KEY ? 1 : 0) === 1) {
    problems.push("PAAS_TLS_CERT and PAAS_TLS_KEY go together: set both or neither");
  }
  const acmeDirectory = str("PAAS_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory");
  if (!/^https?:\/\/\S+$/.test(acmeDirectory)) {
    problems.push(`PAAS_ACME_DIRECTORY="${acmeDirectory}" must be an http(s) URL of an ACME directory`);
  }
  const acmeEmail = env.PAAS_ACME_EMAIL || null;
  const http2 = str("PAAS_HTTP2", "on");
  if (http2 !== "on" && http2 !== "off") problems.push(`PAAS_HTTP2="${http2}" must be on or off`);
  if (acmeEmail !== null && !/^[^@\s]+@[^@\s]+$/.test(acmeEmail)) {
    problems.push(`PAAS_ACME_EMAIL="${acmeEmail}" is not an email address`);
  }
  const bind = str("PAAS_BIND", "127.0.0.1");
  if (!/^[0-9a-fA-F.:]+$/.test(bind) && bind !== "localhost") {
    problems.push(`PAAS_BIND="${bind}" must be an IP address such as 127.0.0.1 or 0.0.0.0`);
  }

  const roles: Role[] = [];
  for (const r of str("PAAS_ROLES", ALL_ROLES.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if ((ALL_ROLES as string[]).includes(r)) roles.push(r as Role);
    else problems.push(`PAAS_ROLES has unknown role "${r}"; roles are ${ALL_ROLES.join(", ")}`);
  }

  if (roles.length === 0 && !problems.some((p) => p.startsWith("PAAS_ROLES"))) {
    problems.push(`PAAS_ROLES names no role; give one or more of ${ALL_ROLES.join(", ")}`);
  }

  let buildCaBundle: string | null = null;
  const caRaw = env.PAAS_BUILD_CA_BUNDLE;
  if (caRaw === "none") buildCaBundle = null;
  else if (caRaw) {
    if (fs.existsSync(caRaw) && fs.statSync(caRaw).isFile()) buildCaBundle = path.resolve(caRaw);
    else
      problems.push(
        `PAAS_BUILD_CA_BUNDLE="${caRaw}" does not exist; point it at a PEM bundle or set it to none`,
      );
  } else if (fs.existsSync("/etc/ssl/certs/ca-certificates.crt")) {
    buildCaBundle = "/etc/ssl/certs/ca-certificates.crt";
  }

  const memRaw = str("PAAS_DEFAULT_MEMORY", "512m");
  const defaultMemory = parseMemory(memRaw);
  if (defaultMemory === null) problems.push(`PAAS_DEFAULT_MEMORY="${memRaw}" must look like 256m or 1g`);

  const logLevel = str("PAAS_LOG_LEVEL", "info");
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(`PAAS_LOG_LEVEL="${logLevel}" must be one of debug, info, warn, error`);
  }

  const logDrains = str("PAAS_LOG_DRAINS", "")
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
  for (const d of logDrains) {
    const parsed = parseDrainUrl(d);
    if ("error" in parsed) problems.push(`PAAS_LOG_DRAINS: ${parsed.error}`);
  }

  const sshRaw = str("PAAS_SSH_PORT", "");
  const sshPort = sshRaw === "off" ? null : port("PAAS_SSH_PORT", 2222);
  const secretKey = secretKeyOf("PAAS_SECRET_KEY", env.PAAS_SECRET_KEY, problems);
  const secretKeysPrevious = (env.PAAS_SECRET_KEY_PREVIOUS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => secretKeyOf("PAAS_SECRET_KEY_PREVIOUS", k, problems))
    .filter((k): k is Buffer => k !== null);
  const buildNetwork = str("PAAS_BUILD_NETWORK", "isolated");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(buildNetwork) || buildNetwork === "host") {
    problems.push(
      `PAAS_BUILD_NETWORK="${buildNetwork}" must be isolated or the name of a Docker network (not host)`,
    );
  }

  const hostForUrl = bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind;
  const settings: Settings = {
    dataDir,
    redisUrl,
    namespace,
    domain,
    apiPort,
    httpPort,
    httpsPort,
    tlsCertFile,
    tlsKeyFile,
    acmeDirectory,
    acmeEmail,
    http2: http2 !== "off",
    bind,
    roles,
    buildConcurrency: positiveInt("PAAS_BUILD_CONCURRENCY", 2),
    buildCaBundle,
    buildHttpProxy: env.PAAS_BUILD_HTTP_PROXY || env.HTTP_PROXY || env.http_proxy || null,
    buildHttpsProxy: env.PAAS_BUILD_HTTPS_PROXY || env.HTTPS_PROXY || env.https_proxy || null,
    buildNoProxy: env.PAAS_BUILD_NO_PROXY || env.NO_PROXY || env.no_proxy || null,
    defaultMemory: defaultMemory ?? 512 * 1024 * 1024,
    startTimeout: positiveInt("PAAS_START_TIMEOUT", 60),
    drainSeconds: nonNegative("PAAS_DRAIN_SECONDS", 10),
    stopTimeout: nonNegative("PAAS_STOP_TIMEOUT", 10),
    checkUptime: nonNegative("PAAS_CHECK_UPTIME", 3),
    pluginTimeout: positiveInt("PAAS_PLUGIN_TIMEOUT", 30),
    releaseRetention: positiveInt("PAAS_RELEASE_RETENTION", 5),
    reconcileInterval: positiveInt("PAAS_RECONCILE_INTERVAL", 30),
    apiUrl: str("PAAS_API_URL", `http://${hostForUrl}:${apiPort}`).replace(/\/+$/, ""),
    stackMirror: str("PAAS_STACK_MIRROR", "http://deb.debian.org/debian"),
    stackBuildImage: env.PAAS_STACK_BUILD_IMAGE || null,
    stackRunImage: env.PAAS_STACK_RUN_IMAGE || null,
    logLevel: logLevel as Settings["logLevel"],
    routerWorkers: routerWorkers(env.PAAS_ROUTER_WORKERS, problems),
    errorPagesDir: errorPagesDir(env.PAAS_ERROR_PAGES_DIR, problems),
    logLines: positiveInt("PAAS_LOG_LINES", 1500),
    logDrains,
    authFailureLimit: positiveInt("PAAS_AUTH_FAILURE_LIMIT", 10),
    authFailureWindow: positiveInt("PAAS_AUTH_FAILURE_WINDOW", 60),
    sshPort,
    sshPortSet: sshRaw !== "",
    secretKey,
    secretKeysPrevious,
    pidsLimit: positiveInt("PAAS_PIDS_LIMIT", 512),
    ...schedulerSettings(env, namespace, problems),
    ...registrySettings(env, dataDir, problems),
    buildNetwork,
  };
  if (problems.length > 0) {
    throw invalid(`bad settings:\n  ${problems.join("\n  ")}`);
  }
  return settings;
}

/** "512m" -> bytes; null when unreadable. */
export function parseMemory(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(raw.trim());
  if (!m) return null;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  const bytes = Math.round(Number(m[1]) * mult);
  return bytes >= 4 * 1024 * 1024 ? bytes : null;
}

/** A 32-byte key given as base64 (or 64 hex digits). */
function secretKeyOf(name: string, raw: string | undefined, problems: string[]): Buffer | null {
  if (raw === undefined || raw.trim() === "") return null;
  const v = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : Buffer.from(v, "base64");
  if (key.length !== 32) {
    problems.push(`${name} must be 32 random bytes in base64 (make one with: openssl rand -base64 32)`);
    return null;
  }
  return key;
}

function routerWorkers(raw: string | undefined, problems: string[]): number {
  if (raw === undefined || raw === "") return os.availableParallelism();
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n > 64) {
    problems.push(
      `PAAS_ROUTER_WORKERS="${raw}" must be a whole number from 0 to 64 (0: no separate processes)`,
    );
    return 1;
  }
  return n;
}

function errorPagesDir(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined || raw === "") return null;
  if (!fs.existsSync(raw) || !fs.statSync(raw).isDirectory()) {
    problems.push(
      `PAAS_ERROR_PAGES_DIR="${raw}" is not a directory: point it at a folder of <page>.njk templates`,
    );
    return null;
  }
  return path.resolve(raw);
}
