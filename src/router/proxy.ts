import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import httpProxy from "http-proxy";
import type { Backend, RouteEntry } from "../store/routes.js";
import { type AccessRecord, formatAccessLog } from "./access-log.js";
import { BodyTape, hasBody } from "./body-tape.js";
import {
  CLIENT_GONE,
  CUT_OFF,
  classifyUpstreamError,
  type Failure,
  failureResponse,
  NO_APP,
  NO_BACKENDS,
  NOT_WEBSOCKET,
  rawResponse,
  TIMED_OUT,
  TIMEOUT_CODE,
} from "./failures.js";
import { forwardedHeaders, requestIdFrom } from "./headers.js";
import type { ErrorPages } from "./pages.js";
import { type Balancer, backendKey, lookup, normalizeHost, type RouteTable } from "./table.js";

// Same shape as the platform logger's LogFn (src/log.ts), so a child logger plugs straight in.
export type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

export interface ProxyOptions {
  table: () => RouteTable;
  balancer: Balancer;
  pages: ErrorPages;
  log: LogFn;
  /** Time a backend gets to start its response before the client gets a 504. */
  upstreamTimeoutMs: number;
  /** How long a backend that refused or reset a connection is passed over. */
  downMs: number;
}

// One try plus retries on other backends of the same app; bounded by the backend count too.
const MAX_ATTEMPTS = 3;

/** Everything the router knows about one request (or websocket handshake) in flight. */
interface Exchange {
  req: IncomingMessage;
  res?: ServerResponse;
  socket?: Duplex;
  started: number;
  requestId: string;
  entry: RouteEntry | null;
  /** Added to the request sent upstream (X-Forwarded-*, X-Request-Id). */
  headers: Record<string, string>;
  backend?: Backend;
  tried: Set<string>;
  attempt: number;
  proxyReq?: http.ClientRequest;
  responded: boolean;
  timer?: NodeJS.Timeout;
  tape?: BodyTape;
  failure?: Failure;
  logged: boolean;
}

export class RouterProxy {
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, timeout: 4_000 });
  private readonly proxy = httpProxy.createProxyServer({ agent: this.agent, xfwd: false });
  private readonly exchanges = new WeakMap<IncomingMessage, Exchange>();
  /** Upgrade sockets (client and backend side) so close() can end long-lived tunnels. */
  private readonly sockets = new Set<Duplex>();
  private inFlight = 0;
  private draining = false;
  private idle: Array<() => void> = [];

  // The agent's idle timeout (4s) sits under Node's default server keep-alive (5s), so the
  // router drops a pooled connection before the app does instead of racing its close.
  constructor(private readonly opts: ProxyOptions) {
    this.proxy.on("proxyReq", (proxyReq, req) => this.attach(req, proxyReq));
    this.proxy.on("proxyReqWs", (proxyReq, req) => this.attach(req, proxyReq));
    this.proxy.on("proxyRes", (proxyRes, req) => {
      const x = this.exchanges.get(req);
      if (!x) return;
      this.responded(x);
      // While draining, ask the client to close so keep-alive connections end with close();
      // http-proxy copies this header to the response instead of its own keep-alive.
      if (this.draining) proxyRes.headers.connection = "close";
      // A backend dying mid-body would otherwise leave the client waiting forever. (When
      // the client left first, res is already destroyed and the backend is not to blame.)
      proxyRes.once("close", () => {
        if (!proxyRes.complete && x.res && !x.res.writableEnded && !x.res.destroyed) {
          x.failure = CUT_OFF;
          x.res.destroy();
        }
      });
    });
    // Callbacks handle every error; this only keeps a stray emit from killing the process.
    this.proxy.on("error", (err) => this.opts.log(`proxy error: ${err.message}`));
  }

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const x = this.begin(req);
    x.res = res;
    this.inFlight++;
    if (this.draining) res.setHeader("connection", "close");
    res.once("close", () => this.finish(x));
    if (!x.entry) this.fail(x, NO_APP);
    else if (x.entry.backends.length === 0) this.fail(x, NO_BACKENDS);
    else {
      if (hasBody(req)) x.tape = new BodyTape(req);
      this.forward(x, NO_BACKENDS);
    }
  };

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const x = this.begin(req);
    x.socket = socket;
    this.sockets.add(socket);
    // Node drops its own error listener from upgraded sockets; a client vanishing mid-
    // handshake must not become an uncaught exception.
    socket.on("error", () => socket.destroy());
    socket.once("close", () => {
      this.sockets.delete(socket);
      clearTimeout(x.timer);
      if (!x.logged) this.access(x, CLIENT_GONE.status, CLIENT_GONE);
    });
    const isWebsocket = req.method === "GET" && req.headers.upgrade?.toLowerCase() === "websocket";
    const backend = x.entry && isWebsocket ? this.opts.balancer.pick(x.entry, x.tried) : null;
    if (!backend) {
      this.fail(x, !x.entry ? NO_APP : !isWebsocket ? NOT_WEBSOCKET : NO_BACKENDS);
      return;
    }
    const attempt = this.startAttempt(x, backend);
    // No retry here: http-proxy ends the client socket right after reporting a websocket
    // error. Clients reconnect, and the mark-down sends the next handshake elsewhere.
    this.proxy.ws(req, socket, head, { target: target(backend), headers: x.headers }, (err) => {
      if (attempt === x.attempt) this.onError(x, err as NodeJS.ErrnoException);
    });
  };

  /** Resolve once no HTTP request is in flight, or after graceMs. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Cut websocket tunnels and pooled backend connections. */
  destroy(): void {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
  }

  private begin(req: IncomingMessage): Exchange {
    const requestId = requestIdFrom(req.headers["x-request-id"]);
    const connection = {
      remoteAddress: req.socket.remoteAddress,
      localPort: req.socket.localPort,
      encrypted: (req.socket as TLSSocket).encrypted === true,
      host: req.headers.host,
      forwardedFor: req.headers["x-forwarded-for"],
    };
    const x: Exchange = {
      req,
      started: performance.now(),
      requestId,
      entry: lookup(this.opts.table(), req.headers.host),
      headers: forwardedHeaders(connection, requestId),
      tried: new Set(),
      attempt: 0,
      responded: false,
      logged: false,
    };
    this.exchanges.set(req, x);
    return x;
  }

  /** Send the request to the next backend of the app, or answer `ifNone` when none is left. */
  private forward(x: Exchange, ifNone: Failure): void {
    const backend = x.entry ? this.opts.balancer.pick(x.entry, x.tried) : null;
    if (!backend || !x.res) {
      this.fail(x, ifNone);
      return;
    }
    const buffer = x.attempt > 0 ? x.tape?.replay() : undefined;
    const attempt = this.startAttempt(x, backend);
    const options = { target: target(backend), headers: x.headers, buffer };
    this.proxy.web(x.req, x.res, options, (err) => {
      // Listeners from superseded attempts stay on the request; only the live one counts.
      if (attempt === x.attempt) this.onError(x, err as NodeJS.ErrnoException);
    });
  }

  private startAttempt(x: Exchange, backend: Backend): number {
    const attempt = ++x.attempt;
    x.backend = backend;
    x.tried.add(backendKey(backend));
    x.proxyReq = undefined;
    clearTimeout(x.timer);
    const arm = () => {
      if (attempt !== x.attempt || x.responded) return;
      x.timer = setTimeout(() => {
        if (attempt !== x.attempt || x.responded) return;
        const err = Object.assign(new Error("backend did not answer in time"), { code: TIMEOUT_CODE });
        // Destroying the upstream request reports through the attempt's error callback.
        if (x.proxyReq) x.proxyReq.destroy(err);
        else {
          x.attempt++;
          this.fail(x, TIMED_OUT);
        }
      }, this.opts.upstreamTimeoutMs);
    };
    // The app's clock starts once it has the whole request: a slow upload is not a slow
    // app (Node's requestTimeout bounds the upload itself).
    if (x.socket || x.req.complete) arm();
    else x.req.once("end", arm);
    return attempt;
  }

  private attach(req: IncomingMessage, proxyReq: http.ClientRequest): void {
    const x = this.exchanges.get(req);
    if (!x) return;
    x.proxyReq = proxyReq;
    if (!x.socket) return;
    proxyReq.once("response", (res: IncomingMessage) => {
      this.responded(x);
      this.access(x, res.statusCode ?? 502);
    });
    proxyReq.once("upgrade", (_res: IncomingMessage, backendSocket: Duplex) => {
      this.responded(x);
      const client = x.socket!;
      this.sockets.add(backendSocket);
      // pipe() only forwards a clean end; a destroyed side must take the other down too.
      backendSocket.once("close", () => {
        this.sockets.delete(backendSocket);
        client.destroy();
      });
      client.once("close", () => backendSocket.destroy());
      this.access(x, 101);
    });
  }

  private responded(x: Exchange): void {
    x.responded = true;
    clearTimeout(x.timer);
    x.tape?.stop();
  }

  private onError(x: Exchange, err: NodeJS.ErrnoException): void {
    clearTimeout(x.timer);
    if (x.responded || x.res?.headersSent) {
      // The client already has part of an answer; only a cut connection tells it the truth.
      x.failure ??= CUT_OFF;
      x.res?.destroy();
      return;
    }
    const verdict = classifyUpstreamError(err.code, x.req.method);
    if (verdict.markDown && x.backend) {
      const backend = backendKey(x.backend);
      this.opts.balancer.markDown(x.backend, this.opts.downMs);
      const why = `${this.opts.downMs}ms: ${err.code}`;
      this.opts.log(`backend ${backend} of ${x.entry?.app} marked down for ${why}`, {
        app: x.entry?.app,
        backend,
      });
    }
    const retry =
      verdict.retry &&
      x.res !== undefined &&
      !x.res.destroyed &&
      x.attempt < MAX_ATTEMPTS &&
      (x.tape?.replayable ?? true);
    if (retry) this.forward(x, verdict.failure);
    else this.fail(x, verdict.failure);
  }

  /** Answer for the app with an error page (or a raw response on an upgrade socket). */
  private fail(x: Exchange, failure: Failure): void {
    x.failure = failure;
    clearTimeout(x.timer);
    const host = normalizeHost(x.req.headers.host) ?? "(no Host header)";
    const page = { host, app: x.entry?.app, domain: this.opts.table().domain, requestId: x.requestId };
    const { headers, body } = failureResponse(failure, this.opts.pages, page);
    if (x.socket) {
      if (x.socket.writable) x.socket.end(rawResponse(failure.status, headers, body));
      this.access(x, failure.status, failure);
      return;
    }
    const res = x.res!;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    x.tape?.stop();
    // An unread body would stall the next request on this connection; drop it and close.
    if (hasBody(x.req) && !x.req.complete) {
      res.setHeader("connection", "close");
      x.req.unpipe();
      x.req.resume();
    }
    res.writeHead(failure.status, headers);
    res.end(body);
  }

  private finish(x: Exchange): void {
    this.inFlight--;
    clearTimeout(x.timer);
    x.tape?.stop();
    const res = x.res!;
    const failure = x.failure ?? (res.writableFinished ? undefined : CLIENT_GONE);
    this.access(x, failure === CLIENT_GONE ? CLIENT_GONE.status : res.statusCode, failure);
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private access(x: Exchange, status: number, failure?: Failure): void {
    if (x.logged) return;
    x.logged = true;
    const record: AccessRecord = {
      method: x.req.method ?? "",
      host: x.req.headers.host ?? "",
      path: x.req.url ?? "",
      status,
      ms: performance.now() - x.started,
      requestId: x.requestId,
      fwd: x.headers["x-forwarded-for"],
      app: x.entry?.app,
      backend: x.backend ? backendKey(x.backend) : undefined,
      code: failure?.code,
      desc: failure?.desc,
    };
    this.opts.log(formatAccessLog(record), record);
  }
}

function target(b: Backend) {
  return { protocol: "http:", host: b.host, port: String(b.port) };
}
