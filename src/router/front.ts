import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { HostLookup, normalizeHost, type RouteTable } from "./table.js";

// What the router answers itself before proxying: ACME HTTP-01 challenges (the tokens are
// in Redis, so whichever router process the CA reaches can answer), the HTTP->HTTPS
// redirect, and the HSTS header. A request pays one string test for the challenge path;
// the per-app lookup only happens while some app has a redirect or HSTS turned on.

export const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

export interface FrontOptions {
  table: () => RouteTable;
  /** The key authorization for a token, or null (then the app answers the path itself). */
  challenge?: (token: string) => Promise<string | null>;
  /** Port in redirect URLs (omitted when 443); a function as it is known once listening. */
  httpsPort: () => number;
  log?: (msg: string, ctx?: Record<string, unknown>) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function frontDoor(next: Handler, opts: FrontOptions): Handler {
  const hosts = new HostLookup(opts.table);
  const policy = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!opts.table().httpsPolicies) return false;
    // HTTP/2 clients may send only :authority.
    const host = req.headers.host ?? (req.headers[":authority"] as string | undefined);
    const options = hosts.get(host)?.domainOptions;
    if (!options) return false;
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    if (encrypted) {
      if (options.hstsMaxAge !== null)
        res.setHeader("strict-transport-security", `max-age=${options.hstsMaxAge}`);
      return false;
    }
    if (!options.httpsRedirect) return false;
    redirect(req, res, normalizeHost(host) ?? "", opts.httpsPort());
    return true;
  };
  return (req, res) => {
    const url = req.url ?? "";
    if (opts.challenge && url.startsWith(CHALLENGE_PREFIX)) {
      answerChallenge(req, res, url.slice(CHALLENGE_PREFIX.length), opts, () => {
        if (!policy(req, res)) next(req, res);
      });
      return;
    }
    if (!policy(req, res)) next(req, res);
  };
}

/** 301 for GET/HEAD (what browsers and crawlers expect), 308 otherwise so the method and body stay. */
export function redirectTarget(host: string, url: string, httpsPort: number): string {
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `https://${h}${port}${url.startsWith("/") ? url : `/${url}`}`;
}

function redirect(req: IncomingMessage, res: ServerResponse, host: string, httpsPort: number): void {
  const status = req.method === "GET" || req.method === "HEAD" ? 301 : 308;
  const location = redirectTarget(host, req.url ?? "/", httpsPort);
  const headers: Record<string, string> = { location, "content-type": "text/plain" };
  // A body is not read: close then, so it cannot be taken for the next request.
  const hasBody =
    Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (hasBody) headers.connection = "close";
  res.writeHead(status, headers);
  res.end(req.method === "HEAD" ? undefined : `Redirecting to ${location}\n`);
  if (hasBody) req.resume();
}

function answerChallenge(
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  opts: FrontOptions,
  otherwise: () => void,
): void {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token) || (req.method !== "GET" && req.method !== "HEAD")) {
    otherwise();
    return;
  }
  opts.challenge!(token).then(
    (answer) => {
      if (answer === null) return otherwise();
      opts.log?.("answered ACME challenge", { token: token.slice(0, 8) });
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(answer) });
      res.end(req.method === "HEAD" ? undefined : answer);
    },
    () => {
      // Redis down: the app may still know the answer (it may run its own ACME client).
      otherwise();
    },
  );
}
