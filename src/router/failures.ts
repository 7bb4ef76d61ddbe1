import { STATUS_CODES } from "node:http";
import type { ErrorPages, PageContext, PageName, PageStatus } from "./pages.js";

// When the router answers instead of the app, it says why with a status, an error page
// and a Heroku-style router code (H12 timeout, H13 no response, H14 no web processes...)
// in the access log, so Heroku users can read our logs the way they read theirs.
// (devcenter.heroku.com/articles/error-codes: H10 app crashed, H12 request timeout, H13
// connection closed without response, H14 no web dynos, H15 idle connection, H18 server
// request interrupted, H19 backend connection timeout, H27 client request interrupted,
// H80 maintenance mode.)

export interface Failure {
  status: PageStatus | 400 | 499;
  code?: string;
  desc: string;
  /** The error page, when it is not the one named by the status. */
  page?: PageName;
  /** Retry-After, seconds. */
  retryAfter?: number;
}

export const NO_APP: Failure = { status: 404, desc: "No app at this host" };
export const NO_BACKENDS: Failure = { status: 503, code: "H14", desc: "No web processes running" };
export const REFUSED: Failure = { status: 503, code: "H10", desc: "Backend refused the connection" };
export const NO_RESPONSE: Failure = { status: 502, code: "H13", desc: "Connection closed without response" };
export const CUT_OFF: Failure = { status: 502, code: "H18", desc: "Server Request Interrupted" };
export const IDLE: Failure = { status: 502, code: "H15", desc: "Idle connection" };
export const CONNECT_TIMED_OUT: Failure = { status: 503, code: "H19", desc: "Backend connection timeout" };
export const NONE_HEALTHY: Failure = { status: 503, code: "H10", desc: "No healthy backend (all ejected)" };
export const MAINTENANCE: Failure = {
  status: 503,
  code: "H80",
  desc: "Maintenance mode",
  page: "maintenance",
  retryAfter: 600,
};
export const TOO_LARGE: Failure = { status: 413, desc: "Request body too large" };
export const TIMED_OUT: Failure = { status: 504, code: "H12", desc: "Request timeout" };
export const NOT_WEBSOCKET: Failure = { status: 400, desc: "Only websocket upgrades are supported" };
export const CLIENT_GONE: Failure = { status: 499, code: "H27", desc: "Client request interrupted" };

/** Error code the router gives an upstream request it abandons for taking too long. */
export const TIMEOUT_CODE = "PAAS_UPSTREAM_TIMEOUT";
/** ... and a connection that did not open within the app's connect timeout. */
export const CONNECT_TIMEOUT_CODE = "PAAS_CONNECT_TIMEOUT";

// The connection never opened, so the app cannot have seen any of the request.
const NOT_CONNECTED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", CONNECT_TIMEOUT_CODE]);
// A reset may come after the app read the request; only methods a client may repeat on its
// own (RFC 9110 9.2.2) are retried then, so a POST is never applied twice.
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export interface UpstreamVerdict {
  /** Pass this backend over for a while. */
  markDown: boolean;
  /** Trying another backend cannot repeat work the app already did. */
  retry: boolean;
  /** What to answer when no retry is possible. */
  failure: Failure;
  /** The retry may go to the same backend (on a new connection). */
  sameBackend?: boolean;
}

/**
 * What to do about an error from a backend that has not started its response. `reused`:
 * the request went out on a pooled keep-alive connection. A reset there before any byte of
 * answer is the keep-alive race (the app closed the idle connection as we sent on it), not
 * a sick backend: an idempotent request goes again on a fresh connection, same backend
 * allowed, and nobody is marked down.
 */
export function classifyUpstreamError(
  code: string | undefined,
  method: string | undefined,
  reused = false,
): UpstreamVerdict {
  if (code === TIMEOUT_CODE) return { markDown: false, retry: false, failure: TIMED_OUT };
  if (code === CONNECT_TIMEOUT_CODE) return { markDown: true, retry: true, failure: CONNECT_TIMED_OUT };
  if (code !== undefined && NOT_CONNECTED.has(code)) return { markDown: true, retry: true, failure: REFUSED };
  if (code === "ECONNRESET" || code === "EPIPE") {
    const idempotent = IDEMPOTENT.has(method ?? "");
    if (reused) return { markDown: false, retry: idempotent, failure: NO_RESPONSE, sameBackend: true };
    return { markDown: true, retry: idempotent, failure: NO_RESPONSE };
  }
  return { markDown: false, retry: false, failure: NO_RESPONSE };
}

/** Headers and body of the router's own answer: an HTML page, or plain text off the catalog. */
export function failureResponse(
  failure: Failure,
  pages: ErrorPages,
  ctx: PageContext,
): { headers: Record<string, string>; body: string } {
  const { status } = failure;
  const page =
    failure.page ??
    (status === 404 || status === 413 || status === 502 || status === 503 || status === 504
      ? (String(status) as PageName)
      : undefined);
  const body = page ? pages.render(page, status, ctx) : `${failure.desc}\n`;
  const headers: Record<string, string> = {
    "content-type": `${page ? "text/html" : "text/plain"}; charset=utf-8`,
    "content-length": String(Buffer.byteLength(body)),
    "cache-control": "no-store",
    "x-request-id": ctx.requestId,
  };
  if (failure.retryAfter !== undefined) headers["retry-after"] = String(failure.retryAfter);
  return { headers, body };
}

/** A whole HTTP/1.1 response as text, for an upgrade socket that has no ServerResponse. */
export function rawResponse(status: number, headers: Record<string, string>, body: string): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join("")}connection: close\r\n\r\n${body}`;
}
