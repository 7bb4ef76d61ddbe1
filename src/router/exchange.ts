import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Backend, RouteEntry } from "../store/routes.js";
import { type AccessRecord, dynoOf } from "./access-log.js";
import { backendKey } from "./balancer.js";
import type { BodyTape } from "./body-tape.js";
import type { Deadlines, Timed } from "./deadlines.js";
import type { Failure } from "./failures.js";
import type { PoolInfo } from "./upstream.js";

const NO_HEADERS: string[] = [];

/**
 * Everything the router knows about one request (or websocket handshake) in flight. One
 * object per request, always of the same shape, holding the state that event listeners
 * read, so listeners need no per-request state of their own; it is also its own link in
 * the deadline list.
 */
export class Exchange implements Timed {
  res: ServerResponse | undefined = undefined;
  socket: Duplex | undefined = undefined;
  readonly started = performance.now();
  entry: RouteEntry | null = null;
  /** X-Forwarded-For as sent to the app (also logged). */
  fwd = "";
  /** Plain HTTP: the upstream request's headers, one flat name/value list. */
  headers: string[] = NO_HEADERS;
  hasBody = false;
  /** The request body has been read to its end, or there is none: the app's clock may start. */
  bodyRead = false;
  /** host:port of the last backend tried. */
  backend: Backend | undefined = undefined;
  /** Backends tried before the current one; only a retry creates it. */
  tried: Set<string> | undefined = undefined;
  attempt = 0;
  /** Websocket handshakes: http-proxy's upstream request. */
  proxyReq: ClientRequest | undefined = undefined;
  /** Plain HTTP: aborts the current attempt's upstream request (undici). */
  abort: ((err?: Error) => void) | undefined = undefined;
  /** The app's whole response has arrived. */
  upstreamDone = false;
  /** The pool of the current attempt, for `connect=`. */
  pool: PoolInfo | undefined = undefined;
  /** A reset was already taken for the keep-alive race once. */
  resetSeen = false;
  proxyRes: IncomingMessage | undefined = undefined;
  /** The app started its response (or switched protocols). */
  responded = false;
  /** Plain HTTP: the client's response closed; errors from upstream after that are not the app's. */
  closed = false;
  tape: BodyTape | undefined = undefined;
  failure: Failure | undefined = undefined;
  logged = false;
  /** The client's connection, and its byte count when the request arrived (for `bytes=`). */
  client: Socket | undefined = undefined;
  bytes0 = 0;
  /** The app's first-byte deadline list (one list per allowance). */
  timer: Deadlines<Exchange> | undefined = undefined;
  /** Body bytes seen, for a chunked body against the app's limit. */
  bodyBytes = 0;
  maxBody = 0;
  /** The next attempt may go to the backend just tried (keep-alive race retry). */
  sameAgain = false;
  // Deadline list (deadlines.ts).
  deadline = 0;
  armed = false;
  prevTimed: Timed | null = null;
  nextTimed: Timed | null = null;

  constructor(
    readonly req: IncomingMessage,
    /** The Host header as received. */
    readonly host: string | undefined,
    readonly requestId: string,
  ) {}

  /** The facts of the access line: only those there are (a structured logger prints every key). */
  accessRecord(status: number, ms: number, failure: Failure | undefined): AccessRecord {
    const client = this.client;
    const pool = this.pool;
    const record: AccessRecord = {
      method: this.req.method ?? "",
      host: this.host ?? "",
      path: this.req.url ?? "",
      status,
      requestId: this.requestId,
      fwd: this.fwd,
      // A connection the pool opened during this request was (most likely) opened for it.
      connectMs: pool && pool.lastConnectAt >= this.started ? pool.lastConnectMs : 0,
      serviceMs: ms,
      bytes: client ? client.bytesWritten - this.bytes0 : 0,
      protocol: (this.req.socket as TLSSocket).encrypted === true ? "https" : "http",
    };
    if (this.entry) record.app = this.entry.app;
    if (this.backend) {
      record.backend = backendKey(this.backend);
      record.dyno = dynoOf(this.backend);
    }
    if (failure?.code) record.code = failure.code;
    if (failure) record.desc = failure.desc;
    return record;
  }
}

/**
 * The request target for the app: origin-form (and `*`) as received. An absolute-form
 * target (a client using the router as a forward proxy) loses its scheme and authority,
 * as http-proxy's url.parse() did.
 */
export function upstreamPath(url: string | undefined): string {
  if (!url) return "/";
  if (url.charCodeAt(0) === 47 || url === "*") return url;
  const m = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*([^#]*)/i.exec(url);
  if (!m) return url;
  const path = m[1];
  return path === "" ? "/" : path.startsWith("?") ? `/${path}` : path;
}
