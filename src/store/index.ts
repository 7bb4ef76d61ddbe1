import { Redis } from "ioredis";
import { AccessStore } from "./access.js";
import { AcmeStore } from "./acme.js";
import { AppsStore } from "./apps.js";
import { AuditStore } from "./audit.js";
import { AuthFailuresStore } from "./auth-failures.js";
import { BuildSourcesStore } from "./build-sources.js";
import { BuildsStore } from "./builds.js";
import { CertsStore } from "./certs.js";
import { ConfigStore } from "./config-vars.js";
import { DomainsStore } from "./domains.js";
import { DrainsStore } from "./drains.js";
import { FormationStore } from "./formation.js";
import { STORE_CONNECTION } from "./health.js";
import { Keys } from "./keys.js";
import { AppLock } from "./lock.js";
import { LogStreamStore } from "./log-stream.js";
import { MetricsStore } from "./metrics.js";
import { PlacementStore } from "./placement.js";
import { PluginsStore } from "./plugins.js";
import { ReleasesStore } from "./releases.js";
import { ResourcesStore } from "./resources.js";
import { RetiringStore } from "./retiring.js";
import { RoutesStore } from "./routes.js";
import { RunsStore } from "./runs.js";
import { lazySecretBox, type SecretKeyring } from "./secret-box.js";
import { SshKeysStore } from "./ssh-keys.js";
import { TokensStore } from "./tokens.js";
import { UsersStore } from "./users.js";

export type { AppRecord } from "./apps.js";
export type { BuildLogEntry, BuildRecord } from "./builds.js";
export type { Formation } from "./formation.js";
export type { Release } from "./releases.js";
export type { Backend, RouteEntry } from "./routes.js";
export type { CronRunResult } from "./runs.js";
export { Keys };

/** All state, composed over one Redis connection. */
export interface Store {
  redis: Redis;
  keys: Keys;
  apps: AppsStore;
  config: ConfigStore;
  releases: ReleasesStore;
  formation: FormationStore;
  routes: RoutesStore;
  tokens: TokensStore;
  builds: BuildsStore;
  lock: AppLock;
  resources: ResourcesStore;
  placement: PlacementStore;
  buildSources: BuildSourcesStore;
  domains: DomainsStore;
  certs: CertsStore;
  acme: AcmeStore;
  runs: RunsStore;
  logs: LogStreamStore;
  drains: DrainsStore;
  metrics: MetricsStore;
  retiring: RetiringStore;
  plugins: PluginsStore;
  sshKeys: SshKeysStore;
  /** The keyring sealing secrets at rest; null for a store opened without a data dir (tests). */
  secrets: SecretKeyring | null;
  users: UsersStore;
  access: AccessStore;
  audit: AuditStore;
  authFailures: AuthFailuresStore;
}

export interface StoreOptions {
  logLines?: number;
  dataDir?: string;
  authFailures?: { limit: number; windowSeconds: number };
}

/** `dataDir`: where the key that seals secrets (TLS keys) lives; without it they cannot be read or written. */
export function openStore(redisUrl: string, namespace: string, opts: StoreOptions = {}): Store {
  // Fail fast while Redis is unreachable (health.ts): requests answer 503 instead of hanging.
  const redis = new Redis(redisUrl, { ...STORE_CONNECTION, lazyConnect: false });
  return storeOver(redis, namespace, opts);
}

export function storeOver(redis: Redis, namespace: string, opts: StoreOptions = {}): Store {
  const keys = new Keys(namespace);
  const certs = new CertsStore(redis, keys);
  const acme = new AcmeStore(redis, keys);
  const config = new ConfigStore(redis, keys);
  const drains = new DrainsStore(redis, keys);
  // Secrets at rest (config values, release snapshots, TLS keys, drain URLs): one keyring.
  const secrets = opts.dataDir ? lazySecretBox(opts.dataDir) : null;
  if (secrets) {
    certs.useSecretBox(secrets);
    acme.useSecretBox(secrets);
    config.useSecretBox(secrets);
    drains.useSecretBox(secrets);
  }
  return {
    redis,
    keys,
    apps: new AppsStore(redis, keys),
    config,
    releases: new ReleasesStore(redis, keys, config),
    formation: new FormationStore(redis, keys),
    routes: new RoutesStore(redis, keys),
    tokens: new TokensStore(redis, keys),
    builds: new BuildsStore(redis, keys),
    lock: new AppLock(redis, keys),
    resources: new ResourcesStore(redis, keys),
    placement: new PlacementStore(redis, keys),
    buildSources: new BuildSourcesStore(redis, keys),
    domains: new DomainsStore(redis, keys),
    certs,
    acme,
    runs: new RunsStore(redis, keys),
    logs: new LogStreamStore(redis, keys, opts.logLines),
    drains,
    metrics: new MetricsStore(redis, keys),
    retiring: new RetiringStore(redis, keys),
    plugins: new PluginsStore(redis, keys),
    sshKeys: new SshKeysStore(redis, keys),
    secrets,
    users: new UsersStore(redis, keys),
    access: new AccessStore(redis, keys),
    audit: new AuditStore(redis, keys),
    authFailures: new AuthFailuresStore(
      redis,
      keys,
      opts.authFailures?.limit,
      opts.authFailures?.windowSeconds,
    ),
  };
}
