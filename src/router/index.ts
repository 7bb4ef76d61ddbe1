import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import type { Settings } from "../config.js";
import { messageOf } from "../errors.js";
import type { AcmeStore } from "../store/acme.js";
import type { CertsStore } from "../store/certs.js";
import { DEFAULT_ROUTER_SETTINGS } from "../store/router-settings.js";
import type { RouterStatsStore } from "../store/router-stats.js";
import type { RouteEntry, RoutesStore } from "../store/routes.js";
import type { AccessSink } from "./access-log.js";
import { Balancer } from "./balancer.js";
import { frontDoor } from "./front.js";
import { RouterMetrics } from "./metrics.js";
import { ErrorPages } from "./pages.js";
import { type LogFn, RouterProxy } from "./proxy.js";
import { buildTable, emptyTable, type RouteTable, validateEntry, withEntry } from "./table.js";
import { type HttpsListener, startHttpsListener } from "./tls.js";

export { type AccessRecord, type AccessSink, formatAccessLog } from "./access-log.js";
export { StreamAccessSink } from "./access-sink.js";
export { Balancer } from "./balancer.js";
export type { LogFn } from "./proxy.js";
export { buildTable, lookup, normalizeHost, type RouteTable } from "./table.js";

export interface RouterOptions {
  settings: Settings;
  routes: RoutesStore;
  /** Dedicated connection for pub/sub: a subscribed ioredis client can do nothing else. */
  subscriber: Redis;
  /** Route and backend events, and access lines of requests no app claimed. */
  log?: LogFn;
  /** Access lines of the apps' requests (default: none). */
  sink?: AccessSink;
  /** Where this process publishes its counters for /metrics (every statsEveryMs). */
  stats?: { store: RouterStatsStore; worker: string; everyMs?: number };
  /** Operator's error page templates, searched before the built-in ones. */
  errorPagesDir?: string | null;
  /** Defaults to settings.httpPort; 0 picks a free port. */
  port?: number;
  /** Defaults to settings.bind. */
  host?: string;
  /** Time an app gets to start its response before the client gets a 504 (default 30s, as
   *  Heroku); an app's `first-byte-timeout` setting overrides it. */
  upstreamTimeoutMs?: number;
  /** How long a backend that refused a connection is passed over (default 5s). */
  downMs?: number;
  /** How long close() waits for requests in flight (default 10s). */
  drainMs?: number;
  /** HTTPS (certificates by SNI) on `port`, and ACME challenge answers; without it, plain HTTP only. */
  tls?: { certs: CertsStore; acme?: AcmeStore; port: number; http2?: boolean };
}

export interface Router {
  port: number;
  /** The HTTPS port; null without opts.tls. */
  httpsPort: number | null;
  /** Stop accepting, let requests in flight finish (bounded), cut tunnels, unsubscribe. */
  close(): Promise<void>;
  /** Re-read one app's route, or all routes. Rejects on failure; the last good table stays. */
  reload(app?: string): Promise<void>;
  /** Publish this process's counters now (they also go every few seconds). */
  publishStats(): Promise<void>;
}

export async function startRouter(opts: RouterOptions): Promise<Router> {
  const log: LogFn = opts.log ?? (() => {});
  const { domain } = opts.settings;
  const pages = new ErrorPages(opts.errorPagesDir ?? null);
  const balancer = new Balancer();
  const metrics = new RouterMetrics();
  // The one reference requests read; every change builds a new table and swaps it here.
  let table: RouteTable = emptyTable(domain);
  const proxy = new RouterProxy({
    table: () => table,
    balancer,
    pages,
    log: opts.log,
    sink: opts.sink,
    metrics,
    defaults: {
      ...DEFAULT_ROUTER_SETTINGS,
      firstByteTimeoutMs: opts.upstreamTimeoutMs ?? DEFAULT_ROUTER_SETTINGS.firstByteTimeoutMs,
    },
    downMs: opts.downMs ?? 5_000,
  });
  const publishStats = async () => {
    if (!opts.stats) return;
    await opts.stats.store.publish(metrics.snapshot(opts.stats.worker, table, balancer)).catch((err) => {
      log(`publishing router stats failed: ${messageOf(err)}`);
    });
  };

  const loadAll = async () => {
    const raws = await opts.routes.all();
    if (raws.length === 0 && table.apps.size > 0) {
      // A resync that finds no app at all while we serve some: Redis came back empty (a
      // restart without persistence, an empty replica), not "every app was deleted" (each
      // deletion reaches us as its own change). Keep serving; per-app changes still apply.
      log(`route resync found no apps, keeping the last table (${table.apps.size} apps)`, {
        apps: table.apps.size,
      });
      return;
    }
    const entries: RouteEntry[] = [];
    for (const raw of raws) {
      try {
        entries.push(validateEntry(raw));
      } catch (err) {
        // One corrupt record must not take every other app offline.
        const app = (raw as { app?: unknown } | null)?.app;
        const previous = typeof app === "string" ? table.apps.get(app) : undefined;
        if (previous) entries.push(previous);
        log(`route ignored, keeping the last good one: ${messageOf(err)}`, { app });
      }
    }
    const next = buildTable(entries, domain);
    for (const app of table.apps.keys()) if (!next.apps.has(app)) balancer.forget(app);
    swap(next);
    log(`routes loaded: ${next.apps.size} apps`, { apps: next.apps.size });
  };

  const loadOne = async (app: string) => {
    const raw = await opts.routes.get(app);
    const entry = raw === null ? null : validateEntry(raw);
    if (entry && entry.app !== app) throw new Error(`route record for ${app} names app ${entry.app}`);
    if (!entry) balancer.forget(app);
    swap(withEntry(table, app, entry));
    log(`route ${entry ? "updated" : "removed"}: ${app}`, { app, backends: entry?.backends.length ?? 0 });
  };

  const swap = (next: RouteTable) => {
    table = next;
    for (const c of next.conflicts) log(`domain conflict: ${c}`);
  };

  // Reloads run one at a time, in the order asked, so an older read never lands on top
  // of a newer one (a full load racing a single-app change, say).
  let chain: Promise<void> = Promise.resolve();
  const reload = (app?: string): Promise<void> => {
    const run = chain.then(() => (app === undefined ? loadAll() : loadOne(app)));
    chain = run.catch(() => {});
    return run;
  };
  const reloadLogged = (app?: string) => {
    reload(app).catch((err) => {
      log(`route reload${app ? ` of ${app}` : ""} failed, keeping the last good table: ${messageOf(err)}`, {
        app,
      });
    });
  };

  // Subscribe before the first load so no change can fall between the two; after a
  // reconnect, reload everything because changes published meanwhile were lost. The reload
  // reads over the store's connection, which fails fast and may come back after this one:
  // retry until one resync succeeds (the last table serves meanwhile).
  const unsubscribe = await opts.routes.subscribe(opts.subscriber, (app) => reloadLogged(app));
  let resync: NodeJS.Timeout | undefined;
  const onReady = () => {
    clearTimeout(resync);
    const attempt = (n: number) => {
      reload().catch((err) => {
        log(`route resync failed (attempt ${n}), keeping the last good table: ${messageOf(err)}`);
        if (opts.subscriber.status === "ready")
          resync = setTimeout(() => attempt(n + 1), Math.min(n, 5) * 500);
      });
    };
    attempt(1);
  };
  opts.subscriber.on("ready", onReady);
  // ACME challenges, the HTTPS redirect and HSTS are answered in front of the proxy.
  let https: HttpsListener | null = null;
  const acme = opts.tls?.acme;
  const handleRequest = frontDoor(proxy.handleRequest, {
    table: () => table,
    challenge: acme ? (token) => acme.challenge(token) : undefined,
    httpsPort: () => https?.port ?? 443,
    log,
  });
  const server = http.createServer(handleRequest);
  server.on("upgrade", proxy.handleUpgrade);

  try {
    await reload();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? opts.settings.httpPort, opts.host ?? opts.settings.bind, () => {
        server.off("error", reject);
        resolve();
      });
    });
    if (opts.tls) {
      https = await startHttpsListener({
        certs: opts.tls.certs,
        subscriber: opts.subscriber,
        port: opts.tls.port,
        http2: opts.tls.http2,
        host: opts.host ?? opts.settings.bind,
        onRequest: handleRequest,
        onUpgrade: proxy.handleUpgrade,
        log,
      });
    }
  } catch (err) {
    opts.subscriber.off("ready", onReady);
    await unsubscribe();
    if (server.listening) server.close();
    proxy.destroy();
    throw err;
  }
  const { port, address } = server.address() as AddressInfo;
  log(`router listening on ${address}:${port}`, { port, address });
  const statsTimer = opts.stats ? setInterval(publishStats, opts.stats.everyMs ?? 5_000) : undefined;
  statsTimer?.unref();
  void publishStats();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (statsTimer) clearInterval(statsTimer);
      opts.subscriber.off("ready", onReady);
      clearTimeout(resync);
      // Bounded: with Redis unreachable the unsubscribe command would wait in ioredis'
      // offline queue forever, and shutting down must not depend on Redis.
      await Promise.race([unsubscribe(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const httpsClosed = https?.close();
      await proxy.drain(opts.drainMs ?? 10_000);
      server.closeAllConnections();
      https?.closeAll();
      await httpsClosed;
      proxy.destroy();
      await closed;
      await publishStats();
      await opts.sink?.flush().catch(() => {});
      log("router stopped");
    })();
    return closing;
  };

  return { port, httpsPort: https?.port ?? null, close, reload, publishStats };
}
