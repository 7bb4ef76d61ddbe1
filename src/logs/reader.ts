import type { Redis } from "ioredis";
import type { Store } from "../store/index.js";
import { fromFields, type LineFilter, type LogLine, matches } from "./line.js";

/** The last `num` lines of the app's stream that pass the filter, oldest first. */
export async function recentLines(
  store: Store,
  app: string,
  num: number,
  filter: ReadFilter,
): Promise<LogLine[]> {
  if (num <= 0) return [];
  const unfiltered = !filter.processType && !filter.dyno && !filter.source && !filter.events;
  // With a filter, look through the whole capped stream for the newest matches.
  const entries = await store.logs.newest(app, unfiltered ? num : store.logs.cap);
  const lines = entries.map(([id, f]) => fromFields(id, f)).filter((l) => passes(l, filter));
  return lines.slice(-num);
}

export type ReadFilter = LineFilter & {
  /** Platform events only: paas lines except the router's. */
  events?: boolean;
};

export function passes(l: LogLine, f: ReadFilter): boolean {
  if (f.events && (l.source !== "paas" || l.process === "router")) return false;
  return matches(l, f);
}

/**
 * Follow the stream after `afterId` until `signal` aborts, on a connection of its own.
 * `deliver` may return a promise (a slow reader): only this follower waits for it.
 */
export async function followLines(
  store: Store,
  app: string,
  afterId: string,
  filter: ReadFilter,
  deliver: (lines: LogLine[]) => Promise<void> | void,
  signal: AbortSignal,
  onIdle?: () => Promise<void> | void,
): Promise<void> {
  const conn: Redis = store.redis.duplicate();
  conn.on("error", () => {});
  const stop = () => conn.disconnect();
  signal.addEventListener("abort", stop, { once: true });
  let last = afterId;
  try {
    while (!signal.aborted) {
      let got: Awaited<ReturnType<typeof store.logs.read>>;
      try {
        got = await store.logs.read(conn, new Map([[app, last]]), 20_000, 1000);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (got.length === 0) {
        await onIdle?.();
        continue;
      }
      for (const { entries } of got) {
        if (entries.length === 0) continue;
        last = entries[entries.length - 1][0];
        const lines = entries.map(([id, f]) => fromFields(id, f)).filter((l) => passes(l, filter));
        if (lines.length > 0) await deliver(lines);
      }
    }
  } finally {
    signal.removeEventListener("abort", stop);
    conn.disconnect();
  }
}
