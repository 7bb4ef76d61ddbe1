import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

// Shared plumbing for bench scenarios: ports, child processes with a bounded lifecycle,
// /proc readings (RSS, CPU time), a cleanup stack, and small loopback HTTP probes.

export type Say = (line: string) => void;

/** Benchmarks send traffic to loopback only. */
export function assertLoopbackUrl(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "[::1]" && host !== "localhost") {
    throw new Error(`bench traffic must stay on loopback, refusing ${url}`);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, "127.0.0.1", resolve);
  });
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown from a waitFor check to stop waiting at once (the thing waited on died). */
export class GiveUp extends Error {}

/** Poll `check` until it returns a value (not undefined) or the time is up; a GiveUp ends it early. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > until) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}

/** Cleanup steps, run last-in first-out; each failure is reported and the rest still run. */
export class Cleanup {
  private steps: Array<{ name: string; fn: () => Promise<void> | void }> = [];

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  async run(say: Say): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        say(`cleanup "${step.name}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

export async function makeTempDir(prefix: string, cleanup: Cleanup): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
  cleanup.add(`remove ${dir}`, () => fs.promises.rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface ChildSpec {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the child's stderr goes: a file (cheap for the child, read back on failure) or
   * "pipe" (kept in memory, last lines only). Default "pipe".
   */
  stderrFile?: string;
  /** Keep stdin open as a lifeline: our bench children exit when it closes (parent gone). */
  lifeline?: boolean;
}

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Resolve with the first stdout line matching `re` (its match), or fail on exit/timeout. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Last lines of stderr, for error messages. */
  tail(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawn a child process we own, registered with `cleanup` so it is stopped even on failure. */
export function startChild(spec: ChildSpec, cleanup: Cleanup): Child {
  const errFd = spec.stderrFile ? fs.openSync(spec.stderrFile, "a") : undefined;
  const proc = spawn(spec.cmd, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: [spec.lifeline ? "pipe" : "ignore", "pipe", errFd ?? "pipe"],
  });
  if (errFd !== undefined) fs.closeSync(errFd);
  if (proc.pid === undefined) {
    // spawn reports ENOENT asynchronously; keep the error from becoming an uncaught one.
    proc.once("error", () => {});
    throw new Error(`cannot start ${spec.name} (${spec.cmd})`);
  }
  const pid = proc.pid;
  let errTail: string[] = [];
  let stdoutBuf = "";
  const lines: string[] = [];
  const lineWaiters = new Set<(line: string) => void>();
  let done = false;
  const exitedP = new Promise<void>((resolve) => {
    proc.once("exit", () => {
      done = true;
      resolve();
    });
    proc.once("error", () => {
      done = true;
      resolve();
    });
  });
  proc.stdout?.setEncoding("utf8").on("data", (c: string) => {
    stdoutBuf += c;
    let nl = stdoutBuf.indexOf("\n");
    while (nl !== -1) {
      const line = stdoutBuf.slice(0, nl);
      stdoutBuf = stdoutBuf.slice(nl + 1);
      if (lines.length < 200) lines.push(line);
      for (const w of lineWaiters) w(line);
      nl = stdoutBuf.indexOf("\n");
    }
  });
  proc.stderr?.setEncoding("utf8").on("data", (c: string) => {
    errTail = [...errTail, ...c.split("\n").filter(Boolean)].slice(-30);
  });
  // An EPIPE on the lifeline after the child died is expected, not fatal.
  proc.stdin?.on("error", () => {});

  const tail = () => {
    if (spec.stderrFile) {
      try {
        return fs.readFileSync(spec.stderrFile, "utf8").split("\n").filter(Boolean).slice(-30).join("\n");
      } catch {
        return "";
      }
    }
    return errTail.join("\n");
  };

  const child: Child = {
    name: spec.name,
    pid,
    proc,
    tail,
    exited: () => done,
    waitForLine(re, timeoutMs) {
      for (const line of lines) {
        const m = re.exec(line);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const finish = (err: Error | null, m?: RegExpExecArray) => {
          clearTimeout(timer);
          lineWaiters.delete(onLine);
          if (err) reject(err);
          else resolve(m!);
        };
        const onLine = (line: string) => {
          const m = re.exec(line);
          if (m) finish(null, m);
        };
        const timer = setTimeout(
          () => finish(new Error(`${spec.name}: no line matching ${re} within ${timeoutMs}ms\n${tail()}`)),
          timeoutMs,
        );
        lineWaiters.add(onLine);
        exitedP.then(() => finish(new Error(`${spec.name} exited before it was ready\n${tail()}`)));
      });
    },
    async stop(graceMs = 5_000) {
      if (done) return;
      proc.stdin?.end();
      proc.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (!done) proc.kill("SIGKILL");
      }, graceMs);
      await exitedP;
      clearTimeout(timer);
    },
  };
  cleanup.add(`stop ${spec.name} (pid ${pid})`, () => child.stop());
  return child;
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM...); null when the process is gone. */
export function procStatusKb(pid: number, field: "VmRSS" | "VmHWM" | "VmSize"): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function rssKb(pid: number): number | null {
  return procStatusKb(pid, "VmRSS");
}

/** Direct children of a process (scans /proc; works without CONFIG_PROC_CHILDREN). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.ppid === pid) out.push(Number(entry));
  }
  return out;
}

/** A process and its direct children (nginx master + workers). */
export function processGroupPids(pid: number): number[] {
  return [pid, ...childPids(pid)];
}

/** Summed VmRSS of several processes, kB (missing ones count 0). */
export function totalRssKb(pids: number[]): number {
  return pids.reduce((sum, p) => sum + (rssKb(p) ?? 0), 0);
}

interface Stat {
  ppid: number;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // Fields after the name start at field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** CPU seconds (user + system) used so far by these processes. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) ticks += readStat(p)?.cpuTicks ?? 0;
  return ticks / ticksPerSecond();
}

export function which(bin: string): string | null {
  const dirs = (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":").filter(Boolean);
  for (const d of [...dirs, "/usr/sbin", "/sbin"]) {
    const p = path.join(d, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export interface Reply {
  status: number;
  body: string;
}

/** One GET to 127.0.0.1 with a Host header, no keep-alive, bounded by timeoutMs. */
export function probe(port: number, host: string | undefined, timeoutMs = 3_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", headers: host ? { host } : {}, agent: false, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from 127.0.0.1:${port} in ${timeoutMs}ms`)));
    req.on("error", reject);
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !b)
    return null;
  return a / b;
}

/** Compiled sibling script (dist-bench/bench/<name>.js) to run with `node`. */
export function benchScript(name: string): string {
  return new URL(`./${name}.js`, import.meta.url).pathname;
}

/**
 * Lifeline for bench child processes: exit when the parent closes our stdin (or dies),
 * so a crashed harness never leaves a router or upstream running.
 */
export function exitWhenParentGoes(onGone: () => void): void {
  if (process.stdin.isTTY) return;
  process.stdin.on("data", () => {});
  process.stdin.on("end", onGone);
  process.stdin.on("close", onGone);
  process.stdin.on("error", onGone);
}
