import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

// HTTP/2 clients (ALPN "h2" on the HTTPS listener) reach the same proxy as HTTP/1.1 ones,
// through node:http2's compatibility request/response. The proxy reads rawHeaders and
// writes flat header lists as HTTP/1.1 has them; this adapts one HTTP/2 exchange to that,
// per RFC 9113 8.2.2 and 8.3: pseudo-headers become the request line's parts (the proxy
// reads method and path from req), :authority becomes Host, split Cookie headers are joined
// for the HTTP/1.1 app, a body without Content-Length is sent chunked, and connection-
// specific headers never reach an HTTP/2 response. HTTP/1.1 requests never come here.

/** Headers HTTP/2 forbids (RFC 9113 8.2.2); lower-case. */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** rawHeaders of an HTTP/2 request as an HTTP/1.1 proxy expects them. Pure. */
export function http1RawHeaders(raw: readonly string[], hasBody: boolean): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let host = false;
  let length = false;
  const cookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name.startsWith(":")) {
      if (name === ":authority") authority = value;
      continue;
    }
    const lc = name.toLowerCase();
    if (lc === "cookie") {
      cookies.push(value);
      continue;
    }
    if (lc === "host") host = true;
    if (lc === "content-length") length = true;
    out.push(name, value);
  }
  if (!host && authority !== undefined) out.unshift("host", authority);
  if (cookies.length > 0) out.push("cookie", cookies.join("; "));
  if (hasBody && !length) out.push("transfer-encoding", "chunked");
  return out;
}

/** Drop connection-specific headers from a flat name/value list. Pure. */
export function http2ResponseHeaders(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!CONNECTION_SPECIFIC.has(flat[i].toLowerCase())) out.push(flat[i], flat[i + 1]);
  }
  return out;
}

/**
 * Make an HTTP/2 compat exchange look like HTTP/1.1 to the proxy, in place: own
 * properties shadow the request's header getters, and the response's header writers drop
 * what HTTP/2 cannot carry (or would fail the whole response on).
 */
export function adaptHttp2(req: IncomingMessage, res: ServerResponse): void {
  const r2 = req as unknown as Http2ServerRequest;
  const hasBody = !r2.stream.endAfterHeaders;
  Object.defineProperty(req, "rawHeaders", { value: http1RawHeaders(r2.rawHeaders, hasBody) });
  const w = res as unknown as Http2ServerResponse;
  const writeHead = w.writeHead.bind(w);
  const setHeader = w.setHeader.bind(w);
  Object.defineProperty(res, "writeHead", {
    value: (status: number, message?: unknown, headers?: unknown) => {
      if (headers === undefined && typeof message === "object") [message, headers] = [undefined, message];
      if (Array.isArray(headers)) headers = http2ResponseHeaders(headers as string[]);
      else if (headers && typeof headers === "object") {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => !CONNECTION_SPECIFIC.has(k.toLowerCase())),
        );
      }
      // HTTP/2 has no reason phrase: passing one only earns a warning.
      return writeHead(status, headers as never);
    },
  });
  // The proxy checks res.destroyed before answering; the compat response has no such field.
  Object.defineProperty(res, "destroyed", { get: () => w.stream.destroyed });
  Object.defineProperty(res, "setHeader", {
    value: (name: string, value: number | string | readonly string[]) =>
      CONNECTION_SPECIFIC.has(name.toLowerCase()) ? res : setHeader(name, value),
  });
}
