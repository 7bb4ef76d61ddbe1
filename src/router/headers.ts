import { randomUUID } from "node:crypto";

// Headers the router adds to every request it forwards. Pure, so the rules are tested
// without sockets.

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

/**
 * X-Forwarded-For is appended to, keeping earlier proxies' hops; proto, host and port
 * describe the connection this router accepted, so they replace whatever the client sent.
 */
export function forwardedHeaders(c: Connection, requestId: string): Record<string, string> {
  const remote = (c.remoteAddress ?? "").replace(/^::ffff:/, "");
  const prior = [c.forwardedFor ?? []].flat().filter((v) => v.trim() !== "");
  return {
    "x-forwarded-for": [...prior, remote].join(", "),
    "x-forwarded-proto": c.encrypted ? "https" : "http",
    "x-forwarded-host": c.host ?? "",
    "x-forwarded-port": c.localPort === undefined ? "" : String(c.localPort),
    "x-request-id": requestId,
  };
}
