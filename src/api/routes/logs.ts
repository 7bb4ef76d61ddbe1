import type { Request, Response } from "express";
import express from "express";
import { invalid } from "../../errors.js";
import { formatLine, type LogLine } from "../../logs/line.js";
import { followLines, type ReadFilter, recentLines } from "../../logs/reader.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

// GET /apps/:app/logs and /apps/:app/events: recent lines, or (tail=1) a stream that stays
// open, as plain text (curl), newline-delimited JSON (format=json; the CLI) or server-sent
// events (Accept: text/event-stream). Query: num (lines, default 100; `lines` also works),
// ps (process type), dyno (web.1), source (app|paas), after (a stream id to resume from).

const TYPE = /^[a-z0-9_-]+$/i;
const DYNO = /^[a-z0-9_-]+\.\d+$/i;
const STREAM_ID = /^\d+-\d+$/;

type Format = "text" | "json" | "sse";

interface Query {
  num: number;
  tail: boolean;
  filter: ReadFilter;
  format: Format;
  after: string | null;
}

function str(v: unknown, name: string): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string") throw invalid(`give ${name} once`);
  return v;
}

export function parseLogQuery(req: Request, events: boolean): Query {
  const q = req.query;
  const rawNum = str(q.num, "num") ?? str(q.lines, "lines");
  const num = rawNum === undefined ? 100 : Number(rawNum);
  if (!Number.isInteger(num) || num < 0 || num > 10_000)
    throw invalid("num must be a whole number from 0 to 10000");
  const ps = str(q.ps, "ps");
  if (ps !== undefined && !TYPE.test(ps))
    throw invalid(`"${ps}" is not a process type: give one like web or worker`);
  const dyno = str(q.dyno, "dyno");
  if (dyno !== undefined && !DYNO.test(dyno))
    throw invalid(`"${dyno}" is not a dyno: give TYPE.N such as web.1`);
  const source = str(q.source, "source");
  if (source !== undefined && source !== "app" && source !== "paas")
    throw invalid(`source must be app or paas (got "${source}")`);
  const after = str(q.after, "after") ?? null;
  if (after !== null && !STREAM_ID.test(after))
    throw invalid("after must be a stream id such as 1700000000000-0");
  const fmt = str(q.format, "format");
  if (fmt !== undefined && fmt !== "json" && fmt !== "text") throw invalid("format must be text or json");
  const tailRaw = str(q.tail, "tail");
  const format: Format = fmt ? fmt : /text\/event-stream/.test(req.get("accept") ?? "") ? "sse" : "text";
  return {
    num,
    tail: tailRaw === "1" || tailRaw === "true",
    filter: { processType: ps?.toLowerCase(), dyno: dyno?.toLowerCase(), source, events },
    format,
    after,
  };
}

function render(l: LogLine, format: Format): string {
  if (format === "text") return `${formatLine(l)}\n`;
  const json = JSON.stringify({
    id: l.id,
    ts: l.ts,
    source: l.source,
    process: l.process,
    message: l.message,
  });
  return format === "json" ? `${json}\n` : `id: ${l.id}\ndata: ${json}\n\n`;
}

/** Write, and wait when the client reads slower than we write (only this request waits). */
function writeOut(res: Response, text: string): Promise<void> | undefined {
  if (res.write(text)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export async function serveLog(s: Services, req: Request, res: Response, events: boolean): Promise<void> {
  const { name } = appOf(res);
  const q = parseLogQuery(req, events);
  res.type(
    q.format === "json" ? "application/x-ndjson" : q.format === "sse" ? "text/event-stream" : "text/plain",
  );
  res.set("Cache-Control", "no-cache");
  // nginx and friends would otherwise hold the stream back.
  res.set("X-Accel-Buffering", "no");
  // The position is read before the backlog, so nothing falls between the two.
  const startId = q.after ?? (q.tail ? await s.store.logs.lastId(name) : null);
  const backlog = q.after
    ? []
    : (await recentLines(s.store, name, q.num, q.filter)).filter(
        (l) => !startId || idNotAfter(l.id, startId),
      );
  if (backlog.length > 0) await writeOut(res, backlog.map((l) => render(l, q.format)).join(""));
  if (!q.tail || startId === null) {
    res.end();
    return;
  }
  res.flushHeaders();
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  await followLines(
    s.store,
    name,
    startId,
    q.filter,
    (lines) => writeOut(res, lines.map((l) => render(l, q.format)).join("")),
    abort.signal,
    // Keep proxies and idle timeouts from closing a quiet tail.
    () => {
      if (q.format === "json") void writeOut(res, "\n");
      else if (q.format === "sse") void writeOut(res, ": keepalive\n\n");
    },
  ).catch(() => {});
  res.end();
}

function idNotAfter(id: string | undefined, last: string): boolean {
  if (!id) return true;
  const [a, b] = id.split("-").map(Number);
  const [c, d] = last.split("-").map(Number);
  return a < c || (a === c && b <= d);
}

export function logRoutes(s: Services): express.Router {
  const r = express.Router();
  r.get(
    "/apps/:app/logs",
    handle((req, res) => serveLog(s, req, res, false)),
  );
  r.get(
    "/apps/:app/events",
    handle((req, res) => serveLog(s, req, res, true)),
  );
  return r;
}
