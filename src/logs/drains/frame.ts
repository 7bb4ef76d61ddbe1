import type { LogLine } from "../line.js";

// What drains receive, as Heroku sends it. local7.info for every line, as Heroku's app lines.
const PRI = "<190>";

/**
 * RFC 5424 for syslog drains: `<190>1 TS HOST APP-NAME PROCID - - MSG`, with the nil MSGID
 * and STRUCTURED-DATA fields. HOST is the drain token for an app's drain (as Heroku), the
 * app's name for the operator's platform-wide drains.
 */
export function syslogMessage(l: LogLine, host: string): string {
  return `${PRI}1 ${l.ts} ${host} ${l.source} ${l.process} - - ${l.message}`;
}

/** RFC 6587 octet counting: `<byte length> <message>`. */
export function octetFrame(msg: string): string {
  return `${Buffer.byteLength(msg)} ${msg}`;
}

/**
 * One Logplex HTTPS frame, byte for byte as Heroku's HTTPS drains send it: the message has
 * the host "host", no STRUCTURED-DATA field, and a newline that the length counts.
 */
export function logplexFrame(l: LogLine): string {
  const msg = `${PRI}1 ${l.ts} host ${l.source} ${l.process} - ${l.message}\n`;
  return `${Buffer.byteLength(msg)} ${msg}`;
}
