// Structured, namespaced platform logs (paas:git, paas:build, paas:router...) on stderr.
// Config values never pass through here: callers log keys, not values.

export type Level = "debug" | "info" | "warn" | "error";
export type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

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

export function createLogger(min: Level, write: (line: string) => void = batchedStderr()): Logger {
  return {
    child(ns: string, level: Level = "info"): LogFn {
      return (msg, ctx) => {
        if (ORDER[level] < ORDER[min]) return;
        const fields = Object.entries(ctx ?? {})
          .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(" ");
        write(`${new Date().toISOString()} ${level} paas:${ns} ${msg}${fields ? ` ${fields}` : ""}\n`);
      };
    },
  };
}
