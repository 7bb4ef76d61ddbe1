import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import httpProxy from "http-proxy";
import type { Backend } from "../store/routes.js";
import { type AccessRecord, formatAccessLog } from "./access-log.js";
import { BodyTape } from "./body-tape.js";
import { Deadlines } from "./deadlines.js";
import { Exchange, upstreamPath } from "./exchange.js";
import {
  CLIENT_GONE,
  CUT_OFF,
  classifyUpstreamError,
  type Failure,
  failureResponse,
  NO_APP,
  NO_BACKENDS,
  NO_RESPONSE,
  NOT_WEBSOCKET,
  rawResponse,
  TIMED_OUT,
  TIMEOUT_CODE,
} from "./failures.js";
import {
  forwardedFor,
  forwardedHeaders,
  readRequestHead,
  requestIdFrom,
  responseHeaders,
} from "./headers.js";
import type { ErrorPages } from "./pages.js";
import { pickWithStandby } from "./standby.js";
import { type Balancer, backendKey, HostLookup, normalizeHost, type RouteTable } from "./table.js";

// Same shape as the platform logger's LogFn (src/log.ts), so a child logger plugs straight in.
export type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

export interface ProxyOptions {
  table: () => RouteTable;
  balancer: Balancer;
  pages: ErrorPages;
  /** Access lines and backend events; without it, no access line is even formatted. */
  log?: LogFn;
  /** Time a backend gets to start its response before the client gets a 504. */
  upstreamTimeoutMs: number;
  /** How long a backend that refused or reset a connection is passed over. */
  downMs: number;
}

// One try plus retries on other backends of the same app; bounded by the backend count too.
const MAX_ATTEMPTS = 3;

// Plain HTTP requests are forwarded with node:http directly; http-proxy carries websocket
// upgrades. Per request, http-proxy copies its options and req.headers into new objects
// (which makes Node build req.headers at all), url.parse()s the path, runs its pass chains
// with closures, and copies the app's response headers one validated setHeader() at a
// time. Measured with `npm run bench -- router`, that machinery was most of what the router
// cost over a bare node:http proxy (commit "router: plain HTTP on node:http directly").
// Here the client's rawHeaders are read once into a flat list (plus ours) for
// http.request(), and the app's rawHeaders go to res.writeHead() as another flat list.
export class RouterProxy {
  // The agent's idle timeout (4s) sits under Node's default server keep-alive (5s), so the
  // router drops a pooled connection before the app does instead of racing its close.
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, timeout: 4_000 });
  private readonly proxy = httpProxy.createProxyServer({ agent: this.agent, xfwd: false });
  private readonly upgrades = new WeakMap<IncomingMessage, Exchange>();
  /** Upgrade sockets (client and backend side) so close() can end long-lived tunnels. */
  private readonly sockets = new Set<Duplex>();
  private readonly deadlines: Deadlines<Exchange>;
  private readonly hosts: HostLookup;
  private inFlight = 0;
  private draining = false;
  private idle: Array<() => void> = [];

  constructor(private readonly opts: ProxyOptions) {
    this.deadlines = new Deadlines<Exchange>(opts.upstreamTimeoutMs, (x) => this.expire(x));
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
    x.entry = this.hosts.get(head.host);
    const socket = req.socket;
    x.fwd = forwardedFor(head.forwardedFor, socket.remoteAddress);
    this.inFlight++;
    if (this.draining) res.setHeader("connection", "close");
    res.on("close", () => this.finish(x));
    if (!x.entry || x.entry.backends.length === 0) {
      this.fail(x, x.entry ? NO_BACKENDS : NO_APP);
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
      req.on("end", () => {
        x.bodyRead = true;
        if (x.proxyReq && !x.responded && !x.closed) this.deadlines.arm(x);
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
      this.deadlines.disarm(x);
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
    const backend = x.entry && isWebsocket ? this.opts.balancer.pick(x.entry) : null;
    if (!backend) {
      this.fail(x, !x.entry ? NO_APP : !isWebsocket ? NOT_WEBSOCKET : NO_BACKENDS);
      return;
    }
    const attempt = this.startAttempt(x, backend);
    this.deadlines.arm(x);
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
    this.deadlines.clear();
    this.agent.destroy();
  }

  /** Send the request to the next backend of the app, or answer `ifNone` when none is left. */
  private forward(x: Exchange, ifNone: Failure): void {
    if (x.backend) {
      x.tried ??= new Set();
      x.tried.add(backendKey(x.backend));
    }
    const backend = x.entry ? pickWithStandby(this.opts.balancer, x.entry, x.tried) : null;
    if (!backend) {
      this.fail(x, ifNone);
      return;
    }
    const replay = x.attempt > 0 ? x.tape?.replay() : undefined;
    this.startAttempt(x, backend);
    let proxyReq: ClientRequest;
    try {
      proxyReq = http.request({
        host: backend.host,
        port: backend.port,
        method: x.req.method,
        path: upstreamPath(x.req.url),
        headers: x.headers,
        agent: this.agent,
      });
    } catch {
      // Node refuses to send what it would not have parsed (a bad header value, say).
      this.fail(x, NO_RESPONSE);
      return;
    }
    x.proxyReq = proxyReq;
    // Listeners of superseded attempts stay on their requests; only the live one counts.
    proxyReq.on("error", (err: NodeJS.ErrnoException) => {
      if (x.proxyReq === proxyReq) this.onError(x, err);
    });
    proxyReq.on("response", (proxyRes: IncomingMessage) => {
      if (x.proxyReq === proxyReq) this.respond(x, proxyRes);
      else proxyRes.destroy();
    });
    if (!x.hasBody) proxyReq.end();
    else (replay ?? x.req).pipe(proxyReq);
    // The app's clock starts once it has the whole request: a slow upload is not a slow
    // app (Node's requestTimeout bounds the upload itself).
    if (x.bodyRead) this.deadlines.arm(x);
  }

  private startAttempt(x: Exchange, backend: Backend): number {
    x.backend = backend;
    x.proxyReq = undefined;
    this.deadlines.disarm(x);
    return ++x.attempt;
  }

  /** The app answered a plain HTTP request: status and headers now, the body as it comes. */
  private respond(x: Exchange, proxyRes: IncomingMessage): void {
    this.responded(x);
    x.proxyRes = proxyRes;
    const res = x.res!;
    const req = x.req;
    const http10 = req.httpVersionMajor === 1 && req.httpVersionMinor === 0;
    try {
      const headers = responseHeaders(proxyRes.rawHeaders, http10, this.draining);
      res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage || undefined, headers);
    } catch {
      proxyRes.destroy();
      this.fail(x, NO_RESPONSE);
      return;
    }
    // A backend dying mid-body would otherwise leave the client waiting forever. (When
    // the client left first, res is already destroyed and the backend is not to blame.)
    proxyRes.on("close", () => {
      if (!proxyRes.complete && !res.writableEnded && !res.destroyed) {
        x.failure = CUT_OFF;
        res.destroy();
      }
    });
    proxyRes.pipe(res);
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
    this.deadlines.disarm(x);
    x.tape?.stop();
  }

  /** The app's deadline passed without a response. */
  private expire(x: Exchange): void {
    if (x.responded || x.closed) return;
    const err = Object.assign(new Error("backend did not answer in time"), { code: TIMEOUT_CODE });
    // Destroying the upstream request reports through the attempt's error listener.
    if (x.proxyReq) x.proxyReq.destroy(err);
    else {
      x.attempt++;
      this.fail(x, TIMED_OUT);
    }
  }

  private onError(x: Exchange, err: NodeJS.ErrnoException): void {
    this.deadlines.disarm(x);
    // The client left and finish() cut the upstream request: nothing to answer, no one to blame.
    if (x.closed) return;
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
      this.opts.log?.(`backend ${backend} of ${x.entry?.app} marked down for ${why}`, {
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
    this.deadlines.disarm(x);
    const host = normalizeHost(x.host) ?? "(no Host header)";
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
    this.deadlines.disarm(x);
    x.tape?.stop();
    // The client went before its answer was complete: stop the upstream request too (its
    // connection is dropped), unless the app's response is complete and the connection
    // already back in the pool.
    if (x.proxyReq && !x.proxyRes?.complete) x.proxyReq.destroy();
    const res = x.res!;
    const failure = x.failure ?? (res.writableFinished ? undefined : CLIENT_GONE);
    this.access(x, failure === CLIENT_GONE ? CLIENT_GONE.status : res.statusCode, failure);
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }

  private access(x: Exchange, status: number, failure?: Failure): void {
    if (x.logged) return;
    x.logged = true;
    const log = this.opts.log;
    if (!log) return;
    const record: AccessRecord = {
      method: x.req.method ?? "",
      host: x.host ?? "",
      path: x.req.url ?? "",
      status,
      ms: performance.now() - x.started,
      requestId: x.requestId,
      fwd: x.fwd,
    };
    // Only the facts there are: a structured logger prints every key it is given.
    if (x.entry) record.app = x.entry.app;
    if (x.backend) record.backend = backendKey(x.backend);
    if (failure?.code) record.code = failure.code;
    if (failure) record.desc = failure.desc;
    log(formatAccessLog(record), record);
  }
}
