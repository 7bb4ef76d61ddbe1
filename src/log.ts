import { pino } from "pino";

// The platform's own logs: structured JSON lines (pino) on stderr, one object per event with
// `ns` (paas:git, paas:build, paas:router...) and the caller's context as fields; a short
// readable form when stderr is a terminal. Config values never pass through here: callers
// log keys, not values.

export type Level = "debug" | "info" | "warn" | "error";
/**
 * Log one line. Lines are at the logger's level (info unless the child was made with
 * another); a line that is worse than that says so with `level` in its context:
 * `log("job failed", { level: "error", app, error })`. The `level` key is the line's level,
 * never a field of it.
 */
export type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

const LEVELS = new Set<string>(["debug", "info", "warn", "error"]);

/** The line's level (ctx.level when it names one, else the default) and its other fields. */
export function lineLevel(
  ctx: Record<string, unknown> | undefined,
  fallback: Level,
): { level: Level; fields?: Record<string, unknown> } {
  if (!ctx || typeof ctx.level !== "string" || !LEVELS.has(ctx.level))
    return { level: fallback, fields: ctx };
  const { level, ...fields } = ctx;
  return { level: level as Level, fields };
}

export interface Logger {
  child(ns: string, level?: Level): LogFn;
}

/**
 * Lines written to stderr in batches, once per turn of the event loop: the router logs every
 * request, and one synchronous write each costs more than the proxying. Flushed on exit.
 */
export function batchedStderr(): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    process.stderr.write(text);
  };
  process.once("exit", flush);
  return (line) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

const OWN = new Set(["level", "time", "ns", "msg"]);

/** One JSON log line as `time level ns msg key=value...`, for people at a terminal. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const fields = Object.entries(o)
    .filter(([k]) => !OWN.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) && v !== "" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${String(o.time ?? "")} ${String(o.level ?? "")} ${String(o.ns ?? "")} ${String(o.msg ?? "")}${fields ? ` ${fields}` : ""}\n`;
}

/** JSON lines, or pretty ones when stderr is a terminal. */
export function defaultWriter(): (line: string) => void {
  const out = batchedStderr();
  return process.stderr.isTTY ? (line) => out(prettyLine(line)) : out;
}

export function createLogger(min: Level, write: (line: string) => void = defaultWriter()): Logger {
  const root = pino(
    {
      level: min,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write },
  );
  return {
    child(ns: string, level: Level = "info"): LogFn {
      const child = root.child({ ns: `paas:${ns}` });
      return (msg, ctx) => {
        const line = lineLevel(ctx, level);
        if (line.fields) child[line.level](line.fields, msg);
        else child[line.level](msg);
      };
    },
  };
}
