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
  /**
   * The headers to forward, as a flat name/value list in the client's order and spelling:
   * everything except what the router sets itself (X-Forwarded-*, X-Request-Id) and what
   * describes the client's connection to the router rather than the request (Connection,
   * Keep-Alive: hop-by-hop, RFC 9110 7.6.1; the router keeps its own pool to the app).
   */
  pass: string[];
}

/**
 * Read rawHeaders once: no req.headers object is built, and only names of a length the
 * router cares about are lower-cased. The caller appends its own headers to `pass`.
 */
export function readRequestHead(raw: readonly string[]): RequestHead {
  let host: string | undefined;
  let requestId: string | undefined;
  let prior = "";
  let hasBody = false;
  const pass: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    switch (name.length) {
      case 4:
        if (host === undefined && name.toLowerCase() === "host") host = value;
        break;
      case 10: {
        const lc = name.toLowerCase();
        if (lc === "connection" || lc === "keep-alive") continue;
        break;
      }
      case 12:
        if (name.toLowerCase() === "x-request-id") {
          requestId = requestId === undefined ? value : "";
          continue;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length" && Number(value) > 0) hasBody = true;
        break;
      case 15:
        if (name.toLowerCase() === "x-forwarded-for") {
          if (value.trim() !== "") prior = prior === "" ? value : `${prior}, ${value}`;
          continue;
        }
        break;
      case 16: {
        const lc = name.toLowerCase();
        if (lc === "x-forwarded-host" || lc === "x-forwarded-port") continue;
        break;
      }
      case 17: {
        const lc = name.toLowerCase();
        if (lc === "x-forwarded-proto") continue;
        if (lc === "transfer-encoding") hasBody = true;
        break;
      }
    }
    pass.push(name, value);
  }
  return { host, requestId, forwardedFor: prior, hasBody, pass };
}

/**
 * The app's response headers to pass on, as a flat list for res.writeHead(). Connection
 * and Keep-Alive describe the app's connection to the router, so they stay behind and
 * Node's server answers for the client's own connection (keep-alive or close). An HTTP/1.0
 * client cannot read chunked encoding, so Transfer-Encoding goes too and the body ends with
 * the connection. `close` (the router is draining) asks the client to close after this.
 */
export function responseHeaders(raw: readonly string[], http10: boolean, close: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const n = name.length;
    if (n === 10 || (http10 && n === 17)) {
      const lc = name.toLowerCase();
      if (lc === "connection" || lc === "keep-alive" || lc === "transfer-encoding") continue;
    }
    out.push(name, raw[i + 1]);
  }
  if (close) out.push("connection", "close");
  return out;
}
