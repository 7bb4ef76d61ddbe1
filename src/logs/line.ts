// One line of an app's log stream, and the pure functions over it: Heroku's printed form,
// timestamps with microseconds, Logplex's 10,000-byte split, the -p/-d/-s filters, colour.

export type Source = "app" | "paas";

export interface LogLine {
  /** Stream entry id (Redis), when the line came from the stream. */
  id?: string;
  /** RFC 3339 with microseconds and an explicit offset: 2026-11-27T10:00:00.123456+00:00 */
  ts: string;
  source: Source;
  /** web.1, run.3, release.1, router, api */
  process: string;
  message: string;
}

/** Logplex splits longer lines; so do we (on a character boundary). */
export const MAX_LINE_BYTES = 10_000;

/** `2026-11-27T10:00:00.123456+00:00 app[web.1]: listening on 5000` */
export function formatLine(l: LogLine): string {
  return `${l.ts} ${l.source}[${l.process}]: ${l.message}`;
}

/** A Date (ms) plus optional extra microseconds as RFC 3339 with microseconds, UTC. */
export function rfc3339(date: Date, micros = 0): string {
  const iso = date.toISOString(); // 2026-11-27T10:00:00.123Z
  const us = String(date.getUTCMilliseconds() * 1000 + (micros % 1000)).padStart(6, "0");
  return `${iso.slice(0, 19)}.${us}+00:00`;
}

/**
 * Docker's RFC 3339 nano timestamp (2026-11-27T10:00:00.123456789Z) to ours; null when it
 * is not one (then the caller uses the time it read the line).
 */
export function fromDockerTs(raw: string): string | null {
  // The common case without a regex (one call per line of output): ...:SS.fffffffffZ
  if (
    raw.length > 20 &&
    raw.length <= 30 &&
    raw[19] === "." &&
    raw[raw.length - 1] === "Z" &&
    raw[10] === "T"
  ) {
    const frac = raw.slice(20, raw.length - 1);
    return `${raw.slice(0, 19)}.${frac.length >= 6 ? frac.slice(0, 6) : frac.padEnd(6, "0")}+00:00`;
  }
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(raw);
  if (!m) return null;
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0").slice(0, 6)}+00:00`;
}

/** Docker's timestamp as the `since` argument of its logs API (seconds.nanoseconds). */
export function dockerSince(raw: string): string | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(raw);
  if (!m) return null;
  const secs = Math.floor(Date.parse(`${m[1]}Z`) / 1000);
  return `${secs}.${(m[2] ?? "").padEnd(9, "0")}`;
}

/** Docker timestamps compare as strings only when their fractions have the same width. */
export function dockerTsKey(raw: string): string {
  // Full nanoseconds already compare as they are (one call per line of output).
  if (raw.length === 30 && raw[29] === "Z") return raw.slice(0, 29);
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(raw);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}` : raw;
}

/** Split a message into pieces of at most MAX_LINE_BYTES UTF-8 bytes. */
export function splitMessage(message: string, max = MAX_LINE_BYTES): string[] {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most lines need no counting.
  if (message.length * 3 <= max) return [message];
  if (Buffer.byteLength(message) <= max) return [message];
  const out: string[] = [];
  let piece = "";
  let bytes = 0;
  for (const ch of message) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) {
      out.push(piece);
      piece = "";
      bytes = 0;
    }
    piece += ch;
    bytes += n;
  }
  if (piece) out.push(piece);
  return out;
}

export interface LineFilter {
  /** -p: process type (web), matches web.1, web.2 */
  processType?: string;
  /** -d: one dyno (web.1) */
  dyno?: string;
  /** -s: app or paas */
  source?: Source;
}

export function matches(l: LogLine, f: LineFilter): boolean {
  if (f.source && l.source !== f.source) return false;
  if (f.dyno && l.process !== f.dyno) return false;
  if (f.processType) {
    const dot = l.process.indexOf(".");
    const type = dot >= 0 ? l.process.slice(0, dot) : l.process;
    if (type !== f.processType) return false;
  }
  return true;
}

export function isFilterEmpty(f: LineFilter): boolean {
  return !f.processType && !f.dyno && !f.source;
}

// Heroku's CLI colours each process differently; the same process keeps its colour.
const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

export function colourFor(process: string): number {
  let h = 0;
  for (const ch of process) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/** The printed line with its `source[process]:` prefix coloured (ANSI). */
export function formatColoured(l: LogLine): string {
  const c = l.source === "paas" ? 90 : colourFor(l.process);
  return `\x1b[2m${l.ts}\x1b[0m \x1b[${c}m${l.source}[${l.process}]:\x1b[0m ${l.message}`;
}

/** Parse a stream entry's flat field list [k, v, k, v...] into a line. */
export function fromFields(id: string, fields: string[]): LogLine {
  const l: LogLine = { id, ts: "", source: "app", process: "", message: "" };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i];
    const v = fields[i + 1];
    if (k === "ts") l.ts = v;
    else if (k === "src") l.source = v === "paas" ? "paas" : "app";
    else if (k === "proc") l.process = v;
    else if (k === "msg") l.message = v;
  }
  return l;
}
