import { spawn } from "node:child_process";
import { assertLoopbackUrl } from "./util.js";

// wrk as a load generator: one bounded run (fixed duration, plus a kill timer in case wrk
// itself hangs), and a pure parser for its `--latency` report so the parsing is unit-tested
// without sockets.

export interface WrkLatency {
  avgMs: number;
  stdevMs: number;
  maxMs: number;
  /** Percentiles from the "Latency Distribution" block (needs --latency); null without it. */
  p50Ms: number | null;
  p75Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
}

export interface WrkResult {
  threads: number;
  connections: number;
  requests: number;
  durationS: number;
  requestsPerSec: number;
  /** Bytes per second, as wrk reports it (its units are powers of 1024). */
  transferPerSec: number;
  latency: WrkLatency;
  errors: WrkErrors;
  /** Responses whose status was not 2xx or 3xx. */
  non2xx3xx: number;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const COUNT_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** "4.89ms" / "812.00us" / "1.20s" / "2.00m" -> milliseconds. */
export function parseWrkTime(raw: string): number {
  const m = /^(-?\d+(?:\.\d+)?)(us|ms|s|m|h)$/.exec(raw.trim());
  if (!m) throw new Error(`wrk: unreadable time "${raw}"`);
  return Number(m[1]) * TIME_UNITS_MS[m[2]];
}

/** "3.07k" / "10.00M" / "523" -> a plain number (wrk's metric units are powers of 1000). */
export function parseWrkCount(raw: string): number {
  const m = /^(-?\d+(?:\.\d+)?)([kMGT]?)$/.exec(raw.trim());
  if (!m) throw new Error(`wrk: unreadable count "${raw}"`);
  return Number(m[1]) * COUNT_UNITS[m[2]];
}

/** "1.12MB" / "512.00B" -> bytes (wrk's byte units are powers of 1024). */
export function parseWrkBytes(raw: string): number {
  const m = /^(-?\d+(?:\.\d+)?)(B|KB|MB|GB|TB)$/.exec(raw.trim());
  if (!m) throw new Error(`wrk: unreadable size "${raw}"`);
  return Number(m[1]) * BYTE_UNITS[m[2]];
}

/**
 * Parse the report of `wrk --latency`. Throws when the lines every report has (thread and
 * connection counts, the Latency stats line, the request total, Requests/sec) are missing,
 * so a wrk that failed to connect is an error rather than a row of zeros.
 */
export function parseWrkOutput(text: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(text);
    if (!m) throw new Error(`wrk: no ${what} in output:\n${text.trim().slice(0, 2000)}`);
    return m;
  };
  const setup = need(/(\d+)\s+threads?\s+and\s+(\d+)\s+connections?/, "thread/connection line");
  const lat = need(/^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%?\s*$/m, "latency stats line");
  const total = need(/(\d+)\s+requests\s+in\s+(\S+),\s+(\S+)\s+read/, "request total");
  const rps = need(/^Requests\/sec:\s+(\S+)/m, "Requests/sec line");
  const transfer = /^Transfer\/sec:\s+(\S+)/m.exec(text);

  const pct = (p: string): number | null => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, "m").exec(text);
    return m ? parseWrkTime(m[1]) : null;
  };
  const sock = /Socket errors:\s*connect\s+(\d+),\s*read\s+(\d+),\s*write\s+(\d+),\s*timeout\s+(\d+)/.exec(
    text,
  );
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);

  return {
    threads: Number(setup[1]),
    connections: Number(setup[2]),
    requests: Number(total[1]),
    durationS: parseWrkTime(total[2]) / 1000,
    requestsPerSec: Number(rps[1]),
    transferPerSec: transfer ? parseWrkBytes(transfer[1]) : 0,
    latency: {
      avgMs: parseWrkTime(lat[1]),
      stdevMs: parseWrkTime(lat[2]),
      maxMs: parseWrkTime(lat[3]),
      p50Ms: pct("50"),
      p75Ms: pct("75"),
      p90Ms: pct("90"),
      p99Ms: pct("99"),
    },
    errors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx3xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

export function totalErrors(r: WrkResult): number {
  return r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.non2xx3xx;
}

export interface WrkOptions {
  /** Must point at a loopback address: benchmarks never send traffic anywhere else. */
  url: string;
  /** Host header to send (the proxies route by it). */
  host?: string;
  threads: number;
  connections: number;
  durationS: number;
  /** Per-request timeout inside wrk (seconds). */
  timeoutS?: number;
}

/** `wrk` argv for one run (exported for tests and for printing what was run). */
export function wrkArgs(o: WrkOptions): string[] {
  const args = [
    `-t${o.threads}`,
    `-c${Math.max(o.connections, o.threads)}`,
    `-d${o.durationS}s`,
    `--timeout`,
    `${o.timeoutS ?? 5}s`,
    "--latency",
  ];
  if (o.host) args.push("-H", `Host: ${o.host}`);
  args.push(o.url);
  return args;
}

/** Run wrk once; bounded by its own -d plus a hard kill a little after it. */
export async function runWrk(o: WrkOptions, bin = "wrk"): Promise<WrkResult> {
  assertLoopbackUrl(o.url);
  const args = wrkArgs(o);
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      err += c;
    });
    const killAfterMs = (o.durationS + (o.timeoutS ?? 5) + 15) * 1000;
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(`${bin} ${args.join(" ")} failed (${signal ?? `exit ${code}`}): ${(err || out).trim()}`),
        );
    });
  });
  return parseWrkOutput(text);
}
