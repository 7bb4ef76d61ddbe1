import type { IncomingMessage, ServerResponse } from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls, { type SecureContext } from "node:tls";
import type { Redis } from "ioredis";
import type { CertMaterial, CertsStore } from "../store/certs.js";
import { DEFAULT_CERT } from "../store/certs.js";
import { adaptHttp2 } from "./h2.js";

// The HTTPS side of the router: a map of server name -> TLS context built from the
// certificates in the store (reloaded per app from the change feed), and the listener that
// picks one per connection by SNI. Kept apart from index.ts so worker processes can build
// the same server around their own proxy.

type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

/** Modern TLS: 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites only (Mozilla "intermediate"). */
export const TLS_OPTIONS: tls.TlsOptions = {
  minVersion: "TLSv1.2",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: false,
};

interface Entry {
  context: SecureContext;
  notAfter: number;
  app: string | null;
}

/**
 * Server name -> certificate. A name is looked up exactly, then as `*.` + its parent (a
 * wildcard certificate covers one label), then the platform default when the name is
 * `<app>.<PAAS_DOMAIN>` or anything else nothing covers (the client then decides).
 * Where two certificates cover a name, the one that expires last wins.
 */
export class SniCertificates {
  private byApp = new Map<string, CertMaterial[]>();
  private names = new Map<string, Entry>();
  private fallback: Entry | null = null;

  constructor(
    private readonly certs: CertsStore,
    private readonly log: LogFn = () => {},
  ) {}

  /** Load everything (start-up, and after a reconnect). */
  async loadAll(): Promise<void> {
    const apps = await this.certs.appsWithCerts();
    const next = new Map<string, CertMaterial[]>();
    for (const app of apps) {
      try {
        next.set(app, await this.certs.material(app));
      } catch (err) {
        // One app's unreadable record (a key sealed with another secret.key) must not take
        // every other app's certificates down: keep what this process had for it.
        const had = this.byApp.get(app);
        if (had) next.set(app, had);
        this.log(`certificates of ${app} not loaded: ${(err as Error).message}`, { app });
      }
    }
    const def = await this.certs.defaultMaterial().catch((err: Error) => {
      this.log(`the default certificate not loaded: ${err.message}`);
      return undefined;
    });
    this.byApp = next;
    if (def !== undefined) this.setDefault(def);
    this.rebuild();
  }

  /** Reload one app's certificates (or the default: DEFAULT_CERT). */
  async reload(app: string): Promise<void> {
    if (app === DEFAULT_CERT) {
      const def = await this.certs.defaultMaterial();
      this.setDefault(def);
      return;
    }
    const list = await this.certs.material(app);
    if (list.length === 0) this.byApp.delete(app);
    else this.byApp.set(app, list);
    this.rebuild();
  }

  /** The context for a server name; undefined when nothing fits and there is no default. */
  context(servername: string | undefined): SecureContext | undefined {
    if (servername) {
      const name = servername.toLowerCase().replace(/\.$/, "");
      const exact = this.names.get(name);
      if (exact) return exact.context;
      const dot = name.indexOf(".");
      if (dot > 0) {
        const wild = this.names.get(`*${name.slice(dot)}`);
        if (wild) return wild.context;
      }
    }
    return this.fallback?.context;
  }

  get size(): number {
    return this.names.size + (this.fallback ? 1 : 0);
  }

  /** Certificates with days to expiry, for metrics. */
  expiries(): { app: string | null; names: string[]; notAfter: string }[] {
    const out = [...this.byApp.values()]
      .flat()
      .map((c) => ({ app: c.app, names: c.names, notAfter: c.notAfter }));
    return out;
  }

  private setDefault(def: CertMaterial | null): void {
    this.fallback = def ? this.entry(def) : null;
  }

  private rebuild(): void {
    const names = new Map<string, Entry>();
    for (const list of this.byApp.values()) {
      for (const cert of list) {
        let entry: Entry;
        try {
          entry = this.entry(cert);
        } catch (err) {
          this.log(`certificate ${cert.id} of ${cert.app} skipped: ${(err as Error).message}`, {
            app: cert.app,
          });
          continue;
        }
        for (const name of cert.names) {
          const have = names.get(name);
          if (!have || have.notAfter < entry.notAfter) names.set(name, entry);
        }
      }
    }
    this.names = names;
    const live = new Set([...this.byApp.values()].flat().map((c) => `${c.app}:${c.id}`));
    for (const key of this.contexts.keys())
      if (!live.has(key) && !key.startsWith("null:")) this.contexts.delete(key);
  }

  private readonly contexts = new Map<string, Entry>();

  /** One SecureContext per certificate, reused across rebuilds. */
  private entry(cert: CertMaterial): Entry {
    const cacheKey = `${cert.app}:${cert.id}`;
    let entry = this.contexts.get(cacheKey);
    if (!entry) {
      const context = tls.createSecureContext({ ...TLS_OPTIONS, cert: cert.chain, key: cert.key });
      entry = { context, notAfter: Date.parse(cert.notAfter), app: cert.app };
      this.contexts.set(cacheKey, entry);
    }
    return entry;
  }
}

export interface HttpsServerOptions {
  sni: SniCertificates;
  /** Offer HTTP/2 by ALPN (HTTP/1.1 clients are served as before on the same port). */
  http2?: boolean;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export type HttpsServer = https.Server | http2.Http2SecureServer;

/**
 * The HTTPS server: HTTP/1.1, or HTTP/2 and HTTP/1.1 by ALPN. It is not listening yet: the
 * caller listens, as it does for plain HTTP, so worker processes can share the port. A
 * client whose name no certificate covers, with no platform default, fails the handshake.
 */
export function createHttpsServer(opts: HttpsServerOptions): HttpsServer {
  const tlsOptions = {
    ...TLS_OPTIONS,
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
      const context = opts.sni.context(servername);
      if (context) cb(null, context);
      else cb(new Error(`no certificate for ${servername}`));
    },
  };
  let server: HttpsServer;
  if (opts.http2) {
    const h2 = http2.createSecureServer({ ...tlsOptions, allowHTTP1: true });
    // HTTP/1.1 connections keep Node's http server defaults (keep-alive 5s) as on plain HTTP.
    h2.on("request", (req, res) => {
      if (req.httpVersionMajor === 2) adaptHttp2(req as never, res as never);
      opts.onRequest(req as never, res as never);
    });
    server = h2;
  } else {
    server = https.createServer(tlsOptions);
    server.on("request", opts.onRequest);
  }
  server.on("upgrade", opts.onUpgrade);
  // A failed handshake (unknown name, a scanner) is the client's problem, not ours.
  server.on("tlsClientError", (_err, socket) => socket.destroy());
  return server;
}

export interface HttpsListenerOptions extends Omit<HttpsServerOptions, "sni"> {
  certs: CertsStore;
  /** Dedicated pub/sub connection (the router's): certificate changes arrive on it. */
  subscriber: Redis;
  port: number;
  host: string;
  http2?: boolean;
  log?: LogFn;
}

export interface HttpsListener {
  port: number;
  server: HttpsServer;
  sni: SniCertificates;
  /** Cut every connection (after the drain). */
  closeAll(): void;
  /** Stop accepting and unsubscribe; connections are the caller's to drain. */
  close(): Promise<void>;
}

/** Load the certificates, follow their changes, and listen. */
export async function startHttpsListener(opts: HttpsListenerOptions): Promise<HttpsListener> {
  const log = opts.log ?? (() => {});
  const sni = new SniCertificates(opts.certs, log);
  const server = createHttpsServer({
    sni,
    http2: opts.http2,
    onRequest: opts.onRequest,
    onUpgrade: opts.onUpgrade,
  });
  // Clients that send no server name (an IP address in the URL) fail the handshake: the
  // server's own context has no certificate on purpose. Node adds the SNI context's
  // certificate to the connection (SSL_use_certificate) instead of replacing the server's,
  // so a default RSA-or-EC certificate there would beat an app's certificate of the other
  // key type for clients that accept both.
  const reload = (app?: string) =>
    (app === undefined ? sni.loadAll() : sni.reload(app)).catch((err) =>
      log(`certificate reload failed, keeping the last good ones: ${(err as Error).message}`, { app }),
    );
  const unsubscribe = await opts.certs.subscribe(opts.subscriber, (app) => void reload(app));
  const onReady = () => void reload();
  opts.subscriber.on("ready", onReady);
  await reload();
  // Every TLS connection, HTTP/1.1 or HTTP/2, so close can end them (an HTTP/2 server has no
  // closeAllConnections).
  const sockets = new Set<Socket>();
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    opts.subscriber.off("ready", onReady);
    await unsubscribe();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  log(`router listening for HTTPS on ${opts.host}:${port}`, { port, certificates: sni.size });
  return {
    port,
    server,
    sni,
    closeAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      opts.subscriber.off("ready", onReady);
      await Promise.race([unsubscribe(), new Promise((r) => setTimeout(r, 1_000).unref())]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ("closeIdleConnections" in server) server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
      for (const s of sockets) s.destroy();
    },
  };
}
