import type http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import httpProxy from "http-proxy";
import type { Dispatcher } from "undici";
import { formatRouterValue } from "../store/router-settings.js";
import type { Backend } from "../store/routes.js";
import { type AccessSink, formatAccessLog } from "./access-log.js";
import { Attempt, type AttemptSink } from "./attempt.js";
import { type Balancer, backendKey } from "./balancer.js";
import { BodyTape } from "./body-tape.js";
import { Deadlines } from "./deadlines.js";
import { Exchange, upstreamPath } from "./exchange.js";
import {
  CLIENT_GONE,
  CUT_OFF,
  classifyUpstreamError,
  type Failure,
  failureResponse,
  IDLE,
  MAINTENANCE,
  NO_APP,
  NO_BACKENDS,
  NO_RESPONSE,
  NONE_HEALTHY,
  NOT_WEBSOCKET,
  rawResponse,
  TIMED_OUT,
  TIMEOUT_CODE,
  TOO_LARGE,
} from "./failures.js";
import {
  forwardedFor,
  forwardedHeaders,
  readRequestHead,
  requestIdFrom,
  responseHeaders,
} from "./headers.js";
import type { RouterMetrics } from "./metrics.js";
import type { ErrorPages } from "./pages.js";
import { pickWithStandby } from "./standby.js";
import { HostLookup, normalizeHost, type RouteTable } from "./table.js";
import { UpstreamPools, upstreamCode } from "./upstream.js";
import { UpstreamAgent } from "./upstream-agent.js";

// Same shape as the platform logger's LogFn (src/log.ts), so a child logger plugs straight in.
export type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

export interface ProxyOptions {
  table: () => RouteTable;
  balancer: Balancer;
  pages: ErrorPages;
  /** Backend events, and access lines of requests no app claimed. */
  log?: LogFn;
  /** Access lines of the apps' requests (their log streams); without it, none is formatted. */
  sink?: AccessSink;
  metrics?: RouterMetrics;
  /** Defaults for apps without their own router settings. */
  defaults: {
    /** Time a backend gets to start its response before the client gets a 504. */
    firstByteTimeoutMs: number;
    connectTimeoutMs: number;
    idleTimeoutMs: number;
    maxBodyBytes: number;
  };
  /** How long a backend that refused or reset a connection is passed over. */
  downMs: number;
}

// One try plus retries on other backends of the same app; bounded by the backend count too.
const MAX_ATTEMPTS = 3;

// Plain HTTP requests go to the apps through undici pools (upstream.ts); http-proxy (over
// node:http) carries websocket upgrades. The client's rawHeaders are read once into a flat
// list (plus ours) for dispatch(), and the app's raw headers go to res.writeHead() as
// another flat list: no header objects are built on the way (`npm run bench -- router`).
export class RouterProxy implements AttemptSink {
  private readonly pools = new UpstreamPools();
  /** Websocket upgrades only. */
  private readonly agent = new UpstreamAgent();
  private readonly proxy = httpProxy.createProxyServer({ agent: this.agent, xfwd: false });
  private readonly upgrades = new WeakMap<IncomingMessage, Exchange>();
  /** Upgrade sockets (client and backend side) so close() can end long-lived tunnels. */
  private readonly sockets = new Set<Duplex>();
  /** First-byte deadlines, one FIFO list per allowance (apps may set their own). */
  private readonly deadlines = new Map<number, Deadlines<Exchange>>();
  private readonly hosts: HostLookup;
  private inFlight = 0;
  private draining = false;
  private idle: Array<() => void> = [];

  constructor(private readonly opts: ProxyOptions) {
    this.hosts = new HostLookup(opts.table);
    this.proxy.on("proxyReqWs", (proxyReq, req) => this.attach(req, proxyReq));
    // Callbacks handle every error; this only keeps a stray emit from killing the process.
    this.proxy.on("error", (err) => this.opts.log?.(`proxy error: ${err.message}`));
  }

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const head = readRequestHead(req.rawHeaders);
    const x = new Exchange(req, head.host, requestIdFrom(head.requestId));
    x.res = res;
    x.hasBody = head.hasBody;
    const entry = this.hosts.get(head.host);
    x.entry = entry;
    const socket = req.socket;
    x.client = socket;
    x.bytes0 = socket.bytesWritten;
    x.fwd = forwardedFor(head.forwardedFor, socket.remoteAddress);
    this.inFlight++;
    if (this.draining) res.setHeader("connection", "close");
    res.on("close", () => this.finish(x));
    if (!entry || entry.backends.length === 0 || entry.settings?.maintenance) {
      this.fail(x, !entry ? NO_APP : entry.settings?.maintenance ? MAINTENANCE : NO_BACKENDS);
      return;
    }
    const settings = entry.settings;
    x.timer = this.deadlinesFor(settings?.firstByteTimeoutMs ?? this.opts.defaults.firstByteTimeoutMs);
    x.maxBody = settings?.maxBodyBytes ?? this.opts.defaults.maxBodyBytes;
    if (head.contentLength > x.maxBody) {
      this.fail(x, TOO_LARGE);
      return;
    }
    const headers = head.pass;
    headers.push(
      "x-forwarded-for",
      x.fwd,
      "x-forwarded-proto",
      (socket as TLSSocket).encrypted === true ? "https" : "http",
      "x-forwarded-host",
      head.host ?? "",
      "x-forwarded-port",
      socket.localPort === undefined ? "" : String(socket.localPort),
      "x-request-id",
      x.requestId,
    );
    x.headers = headers;
    if (head.hasBody) {
      x.tape = new BodyTape(req);
      // A chunked body has no length up front: count it against the limit as it comes.
      if (head.contentLength < 0) req.on("data", (chunk: Buffer) => this.count(x, chunk.length));
      req.on("end", () => {
        x.bodyRead = true;
        if (x.abort && !x.responded && !x.closed) x.timer?.arm(x);
      });
    } else {
      x.bodyRead = true;
    }
    this.forward(x, NO_BACKENDS);
  };

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const host = req.headers.host;
    const x = new Exchange(req, host, requestIdFrom(req.headers["x-request-id"]));
    x.entry = this.hosts.get(host);
    x.socket = socket;
    this.upgrades.set(req, x);
    this.sockets.add(socket);
    // Node drops its own error listener from upgraded sockets; a client vanishing mid-
    // handshake must not become an uncaught exception.
    socket.on("error", () => socket.destroy());
    socket.once("close", () => {
      this.sockets.delete(socket);
      x.timer?.disarm(x);
      if (!x.logged) this.access(x, CLIENT_GONE.status, CLIENT_GONE);
    });
    const connection = {
      remoteAddress: req.socket.remoteAddress,
      localPort: req.socket.localPort,
      encrypted: (req.socket as TLSSocket).encrypted === true,
      host,
      forwardedFor: req.headers["x-forwarded-for"],
    };
    const headers = forwardedHeaders(connection, x.requestId);
    x.fwd = headers["x-forwarded-for"];
    const isWebsocket = req.method === "GET" && req.headers.upgrade?.toLowerCase() === "websocket";
    const maintenance = x.entry?.settings?.maintenance === true;
    const backend = x.entry && isWebsocket && !maintenance ? this.opts.balancer.pick(x.entry) : null;
    if (!backend) {
      const why = !x.entry ? NO_APP : maintenance ? MAINTENANCE : !isWebsocket ? NOT_WEBSOCKET : NO_BACKENDS;
      this.fail(x, why === NO_BACKENDS && this.opts.balancer.allEjected(x.entry!) ? NONE_HEALTHY : why);
      return;
    }
    const attempt = this.startAttempt(x, backend);
    x.timer = this.deadlinesFor(
      x.entry?.settings?.firstByteTimeoutMs ?? this.opts.defaults.firstByteTimeoutMs,
    );
    x.timer.arm(x);
    // No retry here: http-proxy ends the client socket right after reporting a websocket
    // error. Clients reconnect, and the mark-down sends the next handshake elsewhere.
    const target = { protocol: "http:", host: backend.host, port: String(backend.port) };
    this.proxy.ws(req, socket, head, { target, headers }, (err) => {
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
    for (const d of this.deadlines.values()) d.clear();
    this.agent.destroy();
    void this.pools.destroy();
  }

  /** Send the request to the next backend of the app, or answer `ifNone` when none is left. */
  private forward(x: Exchange, ifNone: Failure): void {
    if (x.backend && !x.sameAgain) {
      x.tried ??= new Set();
      x.tried.add(backendKey(x.backend));
    }
    const backend = x.sameAgain
      ? x.backend!
      : x.entry
        ? pickWithStandby(this.opts.balancer, x.entry, x.tried)
        : null;
    x.sameAgain = false;
    if (!backend) {
      this.fail(x, x.entry && this.opts.balancer.allEjected(x.entry) ? NONE_HEALTHY : ifNone);
      return;
    }
    const n = this.startAttempt(x, backend);
    const settings = x.entry?.settings;
    this.pools.prune(this.opts.table());
    const { pool, info } = this.pools.get(
      backend,
      settings?.connectTimeoutMs ?? this.opts.defaults.connectTimeoutMs,
    );
    x.pool = info;
    // dispatch() reports bad input (a header undici refuses) through onError, synchronously.
    pool.dispatch(
      {
        path: upstreamPath(x.req.url),
        method: x.req.method as Dispatcher.HttpMethod,
        headers: x.headers,
        body: x.hasBody ? x.tape!.replay() : null,
        // Silence on the app's side once its response started: the idle timeout (H15).
        bodyTimeout: settings?.idleTimeoutMs ?? this.opts.defaults.idleTimeoutMs,
      },
      new Attempt(x, n, this),
    );
    // The app's clock starts once it has the whole request: a slow upload is not a slow
    // app (Node's requestTimeout bounds the upload itself).
    if (x.bodyRead && x.attempt === n && x.failure === undefined) x.timer?.arm(x);
  }

  /** A chunked body grew past the app's limit: stop it (413, or a cut if the app answered). */
  private count(x: Exchange, n: number): void {
    x.bodyBytes += n;
    if (x.bodyBytes <= x.maxBody || x.failure === TOO_LARGE || x.closed) return;
    x.failure = TOO_LARGE;
    const abort = x.abort;
    x.abort = undefined;
    x.attempt++;
    abort?.();
    if (x.responded) x.res?.destroy();
    else this.fail(x, TOO_LARGE);
  }

  private deadlinesFor(ms: number): Deadlines<Exchange> {
    let d = this.deadlines.get(ms);
    if (d === undefined) {
      d = new Deadlines<Exchange>(ms, (x) => this.expire(x));
      this.deadlines.set(ms, d);
    }
    return d;
  }

  private startAttempt(x: Exchange, backend: Backend): number {
    x.backend = backend;
    x.proxyReq = undefined;
    const abort = x.abort;
    x.abort = undefined;
    x.timer?.disarm(x);
    const n = ++x.attempt;
    abort?.();
    return n;
  }

  /** The app answered a plain HTTP request: status and headers now, the body as it comes. */
  answer(a: Attempt, status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    const x = a.x;
    const res = x.res!;
    if (x.closed || res.destroyed) return false;
    this.responded(x);
    if (x.backend) this.opts.balancer.succeeded(x.backend);
    const req = x.req;
    const http10 = req.httpVersionMajor === 1 && req.httpVersionMinor === 0;
    try {
      const headers = responseHeaders(raw, http10, this.draining);
      res.writeHead(status, statusText || undefined, headers);
    } catch {
      x.attempt++;
      x.abort?.();
      this.fail(x, NO_RESPONSE);
      return false;
    }
    res.on("drain", resume);
    return true;
  }

  complete(a: Attempt): void {
    a.x.upstreamDone = true;
    a.x.res?.end();
  }

  /** The current attempt failed: before any answer (maybe retry), or mid-response (cut). */
  upstreamError(a: Attempt, err: Error & { code?: string }): void {
    const x = a.x;
    x.abort = undefined;
    const code = upstreamCode(err);
    if (x.responded && code === "PAAS_IDLE" && !x.closed) {
      x.failure = IDLE;
      x.res?.destroy();
      return;
    }
    // undici does not say whether the connection was a pooled one: the first reset of an
    // exchange is taken for the keep-alive race (same backend again, nobody marked down).
    const reused = code === "ECONNRESET" && !x.resetSeen;
    if (code === "ECONNRESET") x.resetSeen = true;
    this.onError(x, Object.assign(err, { code }) as NodeJS.ErrnoException, reused);
  }

  /** Websocket handshakes: what http-proxy's upstream request does. */
  private attach(req: IncomingMessage, proxyReq: http.ClientRequest): void {
    const x = this.upgrades.get(req);
    if (!x) return;
    x.proxyReq = proxyReq;
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
    x.timer?.disarm(x);
    x.tape?.stop();
  }

  /** The app's deadline passed without a response. */
  private expire(x: Exchange): void {
    if (x.responded || x.closed) return;
    const err = Object.assign(new Error("backend did not answer in time"), { code: TIMEOUT_CODE });
    // Aborting the upstream request reports through the attempt's onError.
    if (x.abort) x.abort(err);
    else if (x.proxyReq) x.proxyReq.destroy(err);
    else {
      x.attempt++;
      this.fail(x, TIMED_OUT);
    }
  }

  private onError(x: Exchange, err: NodeJS.ErrnoException, reused = false): void {
    x.timer?.disarm(x);
    // The client left and finish() cut the upstream request: nothing to answer, no one to blame.
    if (x.closed) return;
    if (x.responded || x.res?.headersSent) {
      // The client already has part of an answer; only a cut connection tells it the truth.
      x.failure ??= CUT_OFF;
      x.res?.destroy();
      return;
    }
    const verdict = classifyUpstreamError(err.code, x.req.method, reused);
    if (verdict.markDown && x.backend) {
      const backend = backendKey(x.backend);
      this.opts.balancer.markDown(x.backend, this.opts.downMs);
      const ejected = this.opts.balancer.failed(x.backend);
      const why = ejected
        ? "ejected for a cooldown after repeated failures"
        : `marked down for ${this.opts.downMs}ms`;
      this.opts.log?.(`backend ${backend} of ${x.entry?.app} ${why}: ${err.code}`, {
        app: x.entry?.app,
        backend,
      });
    }
    x.sameAgain = verdict.sameBackend === true;
    const retry =
      verdict.retry &&
      x.res !== undefined &&
      !x.res.destroyed &&
      x.attempt < MAX_ATTEMPTS &&
      (x.tape?.replayable ?? true);
    if (!retry) this.fail(x, verdict.failure);
    // Not from inside the upstream client's error callback: let it finish with the dead
    // connection first, or the retry may be handed that same connection.
    else setImmediate(() => (x.closed ? undefined : this.forward(x, verdict.failure)));
  }

  /** Answer for the app with an error page (or a raw response on an upgrade socket). */
  private fail(x: Exchange, failure: Failure): void {
    x.failure = failure;
    x.timer?.disarm(x);
    const host = normalizeHost(x.host) ?? "(no Host header)";
    const page = {
      host,
      app: x.entry?.app,
      domain: this.opts.table().domain,
      requestId: x.requestId,
      limit: failure === TOO_LARGE ? formatRouterValue("client-max-body-size", x.maxBody) : undefined,
    };
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
    if (x.hasBody && !x.req.complete) {
      res.setHeader("connection", "close");
      x.req.unpipe();
      x.req.resume();
    }
    res.writeHead(failure.status, headers);
    res.end(body);
  }

  private finish(x: Exchange): void {
    this.inFlight--;
    x.closed = true;
    x.timer?.disarm(x);
    x.tape?.stop();
    // The client went before its answer was complete: stop the upstream request too (its
    // connection is dropped), unless the app's response is complete and the connection
    // already back in the pool.
    if (x.abort && !x.upstreamDone) x.abort();
    if (x.proxyReq && !x.proxyRes?.complete) x.proxyReq.destroy();
    const res = x.res!;
    const failure = x.failure ?? (res.writableFinished ? undefined : CLIENT_GONE);
    this.access(x, failure === CLIENT_GONE ? CLIENT_GONE.status : res.statusCode, failure);
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private access(x: Exchange, status: number, failure?: Failure): void {
    if (x.logged) return;
    x.logged = true;
    const app = x.entry?.app ?? "";
    const ms = performance.now() - x.started;
    this.opts.metrics?.record(app, status, ms);
    const sink = this.opts.sink;
    if (!sink && !(app === "" && this.opts.log)) return;
    const record = x.accessRecord(status, ms, failure);
    const line = formatAccessLog(record);
    if (app === "") this.opts.log?.(line, record);
    else sink?.write(app, line, record);
  }
}
