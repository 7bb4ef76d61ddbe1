import { PaasError } from "../errors.js";
import type { ApiClient } from "./client.js";

// Reading an app's log stream over the API: NDJSON objects, one per line (blank lines are
// the server's keep-alives). A tail that breaks off (a dropped connection, the server
// restarting) resumes after the last id it printed: no gap, no repeat.

export interface StreamLine {
  id?: string;
  ts: string;
  source: "app" | "paas";
  process: string;
  message: string;
}

export interface LogQuery {
  num: number;
  tail?: boolean;
  processType?: string;
  dyno?: string;
  source?: string;
}

/** How long a broken tail keeps trying to reconnect (a server restart takes seconds). */
export const RETRY_FOR_MS = 60_000;

function queryString(q: LogQuery, after: string | null): string {
  const p = new URLSearchParams({ format: "json", num: String(q.num) });
  if (q.tail) p.set("tail", "1");
  if (q.processType) p.set("ps", q.processType);
  if (q.dyno) p.set("dyno", q.dyno);
  if (q.source) p.set("source", q.source);
  if (after) p.set("after", after);
  return p.toString();
}

/** Lines of /apps/:app/logs (or /events), following when q.tail, until the server ends. */
export async function* streamLines(
  client: ApiClient,
  app: string,
  q: LogQuery,
  what: "logs" | "events" = "logs",
): AsyncGenerator<StreamLine> {
  let after: string | null = null;
  let brokeAt = 0;
  for (;;) {
    let partial = "";
    try {
      const res = await client.send(
        "GET",
        `/apps/${encodeURIComponent(app)}/${what}?${queryString(q, after)}`,
      );
      if (!res.body) return;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const parts = (partial + decoder.decode(value, { stream: true })).split("\n");
        partial = parts.pop() ?? "";
        for (const part of parts) {
          if (!part.trim()) continue;
          const line = JSON.parse(part) as StreamLine;
          if (line.id) after = line.id;
          brokeAt = 0;
          yield line;
        }
      }
      // A clean end is the server's word (it ends a tail only when it cannot go on).
      return;
    } catch (err) {
      if (!q.tail || (err instanceof PaasError && err.code !== "unavailable")) throw err;
      // A broken tail: retry for a while (the server may be restarting), then give up.
      brokeAt ||= Date.now();
      if (Date.now() - brokeAt > RETRY_FOR_MS) {
        if (err instanceof PaasError) throw err;
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        throw new PaasError("unavailable", `the log stream broke off: ${cause ?? (err as Error).message}`);
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    // Resuming: the backlog was printed already.
    if (after === null) after = "0-0";
  }
}
