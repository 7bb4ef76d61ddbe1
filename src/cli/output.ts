// Everything the CLI prints goes through an Io, so commands can be run in tests with the
// output captured, and formatting lives in small pure functions.

export interface Io {
  /** Print a line (a newline is added). */
  out(line: string): void;
  /** Write text as is, without a newline (progress messages, streamed logs). */
  write(text: string): void;
  /** Print a line on stderr. */
  err(line: string): void;
}

export const stdio: Io = {
  out: (line) => process.stdout.write(line + "\n"),
  write: (text) => process.stdout.write(text),
  err: (line) => process.stderr.write(line + "\n"),
};

/** A captured Io for tests and for composing output. */
export function bufferIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    out: (line) => {
      out += line + "\n";
    },
    write: (text) => {
      out += text;
    },
    err: (line) => {
      err += line + "\n";
    },
    stdout: () => out,
    stderr: () => err,
  };
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * Columns padded to their widest cell and separated by two spaces; the last column is not
 * padded so lines carry no trailing spaces.
 */
export function formatTable(headers: string[], rows: string[][]): string[] {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all.map((row) =>
    headers
      .map((_, i) => (i === headers.length - 1 ? (row[i] ?? "") : (row[i] ?? "").padEnd(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}

/** `Label:  value` lines with the values aligned, like `heroku apps:info` and `heroku config`. */
export function formatPairs(pairs: [string, string][]): string[] {
  const width = Math.max(0, ...pairs.map(([key]) => key.length + 1));
  return pairs.map(([key, value]) => `${(key + ":").padEnd(width)} ${value}`.trimEnd());
}

export function heading(text: string): string {
  return `=== ${text}`;
}

/** "12s ago", "5m ago", "3h ago", "2d ago"; "-" for a missing or unreadable time. */
export function formatSince(time: string | null | undefined, now: Date): string {
  if (!time) return "-";
  const then = Date.parse(time);
  if (Number.isNaN(then)) return "-";
  const seconds = Math.max(0, Math.round((now.getTime() - then) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

/** "just now", "1 minute ago", "3 hours ago", "2 days ago"; "-" for a missing or unreadable time. */
export function formatAgo(time: string | null | undefined, now: Date): string {
  const seconds = secondsSince(time, now);
  if (seconds === null) return "-";
  if (seconds < 10) return "just now";
  const [count, unit] =
    seconds < 60
      ? [seconds, "second"]
      : seconds < 3600
        ? [Math.floor(seconds / 60), "minute"]
        : seconds < 48 * 3600
          ? [Math.floor(seconds / 3600), "hour"]
          : [Math.floor(seconds / 86400), "day"];
  return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
}

/** How long a process has been running: "45s", "2m 3s", "1h 5m", "3d 4h"; "-" without a time. */
export function formatUptime(startedAt: string | null | undefined, now: Date): string {
  const seconds = secondsSince(startedAt, now);
  if (seconds === null) return "-";
  const parts = [
    Math.floor(seconds / 86400),
    Math.floor((seconds % 86400) / 3600),
    Math.floor((seconds % 3600) / 60),
    seconds % 60,
  ];
  const units = ["d", "h", "m", "s"];
  // The two largest units are precise enough for a glance at `paas ps`.
  const first = parts.findIndex((n) => n > 0);
  if (first === -1) return "0s";
  return parts
    .slice(first, first + 2)
    .map((n, i) => `${n}${units[first + i]}`)
    .join(" ");
}

function secondsSince(time: string | null | undefined, now: Date): number | null {
  if (!time) return null;
  const then = Date.parse(time);
  if (Number.isNaN(then)) return null;
  return Math.max(0, Math.floor((now.getTime() - then) / 1000));
}

/** Quote a value for POSIX shells: KEY='it'\''s'. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
