// Structured, namespaced platform logs (paas:git, paas:build, paas:router...) on stderr.
// Config values never pass through here: callers log keys, not values.

export type Level = "debug" | "info" | "warn" | "error";
export type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  child(ns: string, level?: Level): LogFn;
}

export function createLogger(
  min: Level,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
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
