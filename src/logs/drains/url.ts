// Drain URLs as Heroku accepts them: syslog://host:port (TCP, RFC 6587 octet counting),
// syslog+tls://, syslog+udp://, https:// (Logplex HTTPS frames). Plain http:// is accepted
// too for receivers on loopback or a private network.

export type DrainKind = "syslog" | "syslog+tls" | "syslog+udp" | "https" | "http";

export interface DrainTarget {
  kind: DrainKind;
  host: string;
  port: number;
  /** The URL as given (normalised), also the drain's identity. */
  url: string;
}

const DEFAULT_PORT: Record<DrainKind, number> = {
  syslog: 514,
  "syslog+tls": 6514,
  "syslog+udp": 514,
  https: 443,
  http: 80,
};

/** A drain URL, or an error message saying what is wrong with it. */
export function parseDrainUrl(raw: string): DrainTarget | { error: string } {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return {
      error: `"${raw}" is not a URL: give syslog://host:port, syslog+tls://, syslog+udp:// or https://`,
    };
  }
  const kind = u.protocol.replace(/:$/, "") as DrainKind;
  if (!(kind in DEFAULT_PORT)) {
    return {
      error: `drain URLs start with syslog://, syslog+tls://, syslog+udp:// or https:// (got ${u.protocol}//)`,
    };
  }
  if (!u.hostname) return { error: `drain URL "${raw}" has no host` };
  if (kind.startsWith("syslog") && !u.port)
    return { error: `syslog drains need a port: ${kind}://host:port` };
  const port = u.port ? Number(u.port) : DEFAULT_PORT[kind];
  return { kind, host: u.hostname.replace(/^\[|\]$/g, ""), port, url: raw.trim() };
}
