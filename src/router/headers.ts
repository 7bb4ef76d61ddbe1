import { randomUUID } from "node:crypto";

// Headers the router adds to every request it forwards, and which of the client's and the
// app's headers it passes on. Pure, so the rules are tested without sockets.

export interface Connection {
  remoteAddress: string | undefined;
  localPort: number | undefined;
  encrypted: boolean;
  host: string | undefined;
  /** X-Forwarded-For as received, one value or several. */
  forwardedFor: string | string[] | undefined;
}

/** Keep a caller's request id when it is sane (so traces join up); otherwise mint one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === "string" && /^[\w\-.+=/:@]{1,200}$/.test(header) ? header : randomUUID();
}

/** X-Forwarded-For to send: earlier hops as received, then the address this router saw. */
export function forwardedFor(prior: string, remoteAddress: string | undefined): string {
  let remote = remoteAddress ?? "";
  if (remote.startsWith("::ffff:")) remote = remote.slice(7);
  return prior === "" ? remote : `${prior}, ${remote}`;
}

/**
 * X-Forwarded-For is appended to, keeping earlier proxies' hops; proto, host and port
 * describe the connection this router accepted, so they replace whatever the client sent.
 */
export function forwardedHeaders(c: Connection, requestId: string): Record<string, string> {
  const prior = [c.forwardedFor ?? []]
    .flat()
    .filter((v) => v.trim() !== "")
    .join(", ");
  return {
    "x-forwarded-for": forwardedFor(prior, c.remoteAddress),
    "x-forwarded-proto": c.encrypted ? "https" : "http",
    "x-forwarded-host": c.host ?? "",
    "x-forwarded-port": c.localPort === undefined ? "" : String(c.localPort),
    "x-request-id": requestId,
  };
}

/** What the router reads from a request's headers, in one pass over rawHeaders. */
export interface RequestHead {
  /** The first Host header. */
  host: string | undefined;
  /** X-Request-Id as received; "" when sent twice (so requestIdFrom mints one). */
  requestId: string | undefined;
  /** Earlier hops of X-Forwarded-For, the non-empty values joined with ", "; "" when none. */
  forwardedFor: string;
  /** Content-Length above zero, or a Transfer-Encoding: the request has a body to forward. */
  hasBody: boolean;
  /** Content-Length as sent; -1 when there is none (a chunked body, or no body). */
  contentLength: number;
  /**
   * The headers to forward, as a flat name/value list in the client's order and spelling:
   * everything except what the router sets itself (X-Forwarded-*, X-Request-Id) and the
   * hop-by-hop fields of RFC 9110 7.6.1, which describe the client's connection to the
   * router rather than the request: Connection and every field it names, Keep-Alive, TE,
   * Trailer, Upgrade, Proxy-Connection, Proxy-Authorization, and Transfer-Encoding (a body
   * without a length is chunked again on the router's own connection). Also dropped: a
   * second Host, and Expect (Node's server has answered 100-continue to the client).
   */
  pass: string[];
}

// Connection options that are not header names.
const CONNECTION_OPTIONS = new Set(["close", "keep-alive", "upgrade", ""]);

/**
 * Read rawHeaders once: no req.headers object is built, and only names of a length the
 * router cares about are lower-cased. The caller appends its own headers to `pass`.
 */
export function readRequestHead(raw: readonly string[]): RequestHead {
  let host: string | undefined;
  let requestId: string | undefined;
  let prior = "";
  let hasBody = false;
  let contentLength = -1;
  let chunked = false;
  let listed: string[] | undefined;
  const pass: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    switch (name.length) {
      case 2:
        if (name.toLowerCase() === "te") continue;
        break;
      case 4:
        if (name.toLowerCase() === "host") {
          if (host !== undefined) continue;
          host = value;
        }
        break;
      case 6:
        if (name.toLowerCase() === "expect") continue;
        break;
      case 7: {
        const lc = name.toLowerCase();
        if (lc === "trailer" || lc === "upgrade") continue;
        break;
      }
      case 10: {
        const lc = name.toLowerCase();
        if (lc === "connection") {
          listed = connectionListed(value, listed);
          continue;
        }
        if (lc === "keep-alive") continue;
        break;
      }
      case 12:
        if (name.toLowerCase() === "x-request-id") {
          requestId = requestId === undefined ? value : "";
          continue;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          contentLength = Number(value);
          if (contentLength > 0) hasBody = true;
        }
        break;
      case 15:
        if (name.toLowerCase() === "x-forwarded-for") {
          if (value.trim() !== "") prior = prior === "" ? value : `${prior}, ${value}`;
          continue;
        }
        break;
      case 16: {
        const lc = name.toLowerCase();
        if (lc === "x-forwarded-host" || lc === "x-forwarded-port" || lc === "proxy-connection") continue;
        break;
      }
      case 17: {
        const lc = name.toLowerCase();
        if (lc === "x-forwarded-proto") continue;
        if (lc === "transfer-encoding") {
          hasBody = true;
          chunked = true;
          continue;
        }
        break;
      }
      case 19:
        if (name.toLowerCase() === "proxy-authorization") continue;
        break;
    }
    pass.push(name, value);
  }
  // Node's parser refuses Content-Length with Transfer-Encoding; the body is chunked.
  if (chunked) contentLength = -1;
  return {
    host,
    requestId,
    forwardedFor: prior,
    hasBody,
    contentLength,
    pass: listed ? withoutListed(pass, listed) : pass,
  };
}

/** Header names a Connection header lists (besides close / keep-alive / upgrade). */
function connectionListed(value: string, into: string[] | undefined): string[] | undefined {
  for (const token of value.split(",")) {
    const lc = token.trim().toLowerCase();
    if (CONNECTION_OPTIONS.has(lc)) continue;
    into ??= [];
    into.push(lc);
  }
  return into;
}

function withoutListed(list: string[], listed: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) {
    if (!listed.includes(list[i].toLowerCase())) out.push(list[i], list[i + 1]);
  }
  return out;
}

/**
 * The app's response headers to pass on, as a flat list for res.writeHead(). The hop-by-hop
 * ones (Connection and what it names, Keep-Alive, TE, Trailer, Upgrade, Proxy-Connection)
 * describe the app's connection to the router, so they stay behind and Node's server
 * answers for the client's own connection (keep-alive or close). Transfer-Encoding stays
 * for an HTTP/1.1 client (Node then chunks what the router writes); an HTTP/1.0 client
 * cannot read chunked encoding, so there it goes too and the body ends with the
 * connection. `close` (the router is draining) asks the client to close after this.
 */
export function responseHeaders(
  raw: readonly string[] | readonly Buffer[],
  http10: boolean,
  close: boolean,
): string[] {
  const out: string[] = [];
  let listed: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    // undici hands the app's headers over as Buffers; they are latin1 on the wire.
    const name = raw[i].toString("latin1");
    const n = name.length;
    if (n === 2 || n === 7 || n === 10 || n === 16 || (http10 && n === 17)) {
      const lc = name.toLowerCase();
      if (lc === "connection") {
        listed = connectionListed(raw[i + 1].toString("latin1"), listed);
        continue;
      }
      if (
        lc === "keep-alive" ||
        lc === "transfer-encoding" ||
        lc === "te" ||
        lc === "trailer" ||
        lc === "upgrade" ||
        lc === "proxy-connection"
      )
        continue;
    }
    out.push(name, raw[i + 1].toString("latin1"));
  }
  if (close) out.push("connection", "close");
  return listed ? withoutListed(out, listed) : out;
}
