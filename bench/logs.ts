import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Redis } from "ioredis";
import { percentile } from "./load.js";
import { BenchPlatform, platformUnavailable, REPO_ROOT } from "./platform.js";
import type { BenchContext, Ratio, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import { childPids, cpuSeconds, sleep, waitFor } from "./util.js";

// logs (issue 9): one chatty container into the app's log stream and to one syslog drain.
// A real `paas server` runs the logs-app fixture (busybox httpd); GET /cgi-bin/burst?N makes
// its web.1 print N numbered lines as fast as `seq | sed` can. We measure, with Docker's own
// timestamp of the first line as the start:
//   - stream: lines/s until the last line is in the app's Redis stream;
//   - drain:  lines/s until the last line reached a TCP syslog receiver of ours (loopback),
//             and how many the drain did not get (the stream keeps PAAS_LOG_LINES; a shipper
//             that falls further behind than that loses lines, counted here);
//   - the server process's CPU ms per 10,000 lines (collector + stream + shipper);
//   - `paas logs -t` latency: a line printed in the container (Docker's timestamp) to the
//     moment the real CLI, tailing, prints it; median and p99 of MARKS lines.
// Router logging cost is measured by `npm run bench -- router` (router with and without
// access lines, same router process): see its "router without / with access log" ratios.

const APP = "chatty";
const LINES = 200_000;
const MARKS = 200;

interface Receiver {
  port: number;
  received: number;
  lastAt: number;
  close(): void;
}

/** A TCP syslog receiver (RFC 6587 octet counting) that counts the burst's lines. */
async function receiver(): Promise<Receiver> {
  const r: Receiver = { port: 0, received: 0, lastAt: 0, close: () => {} };
  const server = net.createServer((sock) => {
    let buf: Buffer = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      let i = 0;
      for (;;) {
        const sp = buf.indexOf(0x20, i);
        if (sp < 0) break;
        const len = Number(buf.subarray(i, sp).toString());
        if (sp + 1 + len > buf.length) break;
        if (buf.subarray(sp + 1, sp + 1 + len).includes("burst line ")) {
          r.received++;
          r.lastAt = Date.now();
        }
        i = sp + 1 + len;
      }
      buf = buf.subarray(i);
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  r.port = (server.address() as net.AddressInfo).port;
  r.close = () => server.close();
  return r;
}

/** The pid of this namespace's `paas server` (its environment names the namespace). */
function serverPid(ns: string): number | null {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmd.includes("dist/cli/main.js\0server")) continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`PAAS_NAMESPACE=${ns}`))
        return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return null;
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const { say, cleanup } = ctx;
  const drain = await receiver();
  cleanup.add("syslog receiver", async () => drain.close());
  const p = await BenchPlatform.start(ctx);
  const redis = new Redis(ctx.options.redisUrl, { maxRetriesPerRequest: null });
  cleanup.add("redis", async () => redis.disconnect());
  const pid = serverPid(p.ns);
  if (!pid) throw new Error("cannot find the paas server process");

  say("deploying the logs-app fixture");
  const repo = await p.fixtureRepo("logs-app");
  await p.createApp(repo, APP);
  await p.pushOk(repo);
  await p.cliOk(["drains:add", `syslog://127.0.0.1:${drain.port}`, "-a", APP]);
  // The shipper picks a new drain up within a couple of seconds.
  await sleep(4000);

  const key = `${p.ns}:log:${APP}`;
  const lastMessage = async () => {
    const got = (await redis.xrevrange(key, "+", "-", "COUNT", 50)) as [string, string[]][];
    return got.map(([, f]) => ({ ts: f[f.indexOf("ts") + 1], msg: f[f.indexOf("msg") + 1] }));
  };

  say(`burst: ${LINES} lines from web.1`);
  const pids = () => [pid, ...childPids(pid)];
  const cpu0 = cpuSeconds(pids());
  const burst = p.get(APP, `/cgi-bin/burst?${LINES}`, 120_000);
  let firstTs: number | null = null;
  let streamDoneAt: number | null = null;
  let lastTs: number | null = null;
  await waitFor(
    "the burst's last line in the stream",
    async () => {
      const recent = await lastMessage();
      if (firstTs === null) {
        const first = (await redis.xrange(key, "-", "+", "COUNT", 2000)) as [string, string[]][];
        const hit = first.find(([, f]) => f[f.indexOf("msg") + 1] === "burst line 1");
        if (hit) firstTs = Date.parse(hit[1][hit[1].indexOf("ts") + 1]);
      }
      const last = recent.find((l) => l.msg === `burst line ${LINES}`);
      if (last) {
        streamDoneAt = Date.now();
        lastTs = Date.parse(last.ts);
        return true;
      }
      return undefined;
    },
    180_000,
    5,
  );
  await burst.catch(() => null);
  const cpuStream = cpuSeconds(pids()) - cpu0;
  await waitFor(
    "the drain to settle",
    async () => (Date.now() - drain.lastAt > 3000 ? true : undefined),
    120_000,
    250,
  ).catch(() => null);
  const cpuAll = cpuSeconds(pids()) - cpu0;

  say(`tail latency: ${MARKS} marks through paas logs -t`);
  const latencies: number[] = [];
  const tail = spawn(
    process.execPath,
    [path.join(REPO_ROOT, "dist/cli/main.js"), "logs", "-t", "--json", "-n", "1", "-a", APP],
    {
      env: p.env(),
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  cleanup.add("tail", async () => {
    tail.kill("SIGINT");
  });
  let partial = "";
  const seen = new Set<string>();
  tail.stdout.on("data", (d: Buffer) => {
    const now = Date.now();
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) {
      if (!part.includes("said: mark-")) continue;
      const l = JSON.parse(part) as { ts: string; message: string };
      if (seen.has(l.message)) continue;
      seen.add(l.message);
      latencies.push(now - Date.parse(l.ts));
    }
  });
  await sleep(1000);
  for (let i = 0; i < MARKS; i++) {
    await p.get(APP, `/cgi-bin/say?mark-${i}`).catch(() => null);
    await sleep(20);
  }
  await waitFor("the marks in the tail", async () => (seen.size >= MARKS ? true : undefined), 30_000).catch(
    () => null,
  );
  tail.kill("SIGINT");

  const streamS = firstTs !== null && streamDoneAt !== null ? (streamDoneAt - firstTs) / 1000 : null;
  const drainS = firstTs !== null && drain.lastAt ? (drain.lastAt - firstTs) / 1000 : null;
  const streamRate = streamS ? LINES / streamS : null;
  // Baseline: how fast the container printed (Docker's timestamps of the first and last line).
  const printS = firstTs !== null && lastTs !== null ? (lastTs - firstTs) / 1000 : null;
  const printRate = printS ? LINES / printS : null;
  const drainRate = drainS ? drain.received / drainS : null;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const rows: ResultRow[] = [
    {
      label: "container printing (baseline)",
      metrics: { lines: { value: LINES, unit: "" }, "lines/s": { value: printRate, unit: "/s" } },
    },
    {
      label: "one container -> stream",
      metrics: {
        lines: { value: LINES, unit: "" },
        "lines/s": { value: streamRate, unit: "/s" },
        "server CPU per 10k": { value: (cpuStream * 1000 * 10_000) / LINES, unit: "ms" },
      },
    },
    {
      label: "one container -> stream -> syslog drain",
      metrics: {
        delivered: { value: drain.received, unit: "" },
        lost: { value: LINES - drain.received, unit: "" },
        "lines/s": { value: drainRate, unit: "/s" },
        "server CPU per 10k": { value: (cpuAll * 1000 * 10_000) / LINES, unit: "ms" },
      },
    },
    {
      label: "paas logs -t latency",
      metrics: {
        marks: { value: latencies.length, unit: "" },
        p50: { value: p50, unit: "ms" },
        p99: { value: p99, unit: "ms" },
      },
    },
  ];
  const ratios: Ratio[] = [
    {
      name: "stream / container printing",
      value: streamRate !== null && printRate !== null ? streamRate / printRate : null,
      of: "how close collection keeps up with the container (1.0: as fast as it prints)",
    },
    {
      name: "stream lines/s",
      value: streamRate,
      of: "lines of one container stored per second",
      target: { min: 20_000, text: "issue 9: >= 20,000 lines/s" },
    },
    {
      name: "drain lines/s",
      value: drainRate,
      of: "lines of one container delivered to one syslog drain per second",
      target: { min: 20_000, text: "issue 9: >= 20,000 lines/s" },
    },
    {
      name: "tail latency median (ms)",
      value: p50,
      of: "container print -> paas logs -t print",
      target: { max: 100, text: "issue 9: <= 100 ms median" },
    },
  ];
  return {
    scenario: "logs",
    rows,
    ratios,
    notes: [
      `the burst comes from busybox seq | sed through httpd's stderr; start = Docker's timestamp of its first line`,
      `server CPU is the paas server process and its children (collector, writer, drain shipper, API, router)`,
      `router logging cost: npm run bench -- router ("router without / with access log" ratios)`,
      ...(await p.serverProblems()),
    ],
    raw: { latencies, streamS, drainS, drainReceived: drain.received, cpuStream, cpuAll },
  };
}

export const logsScenario: Scenario = {
  name: "logs",
  describe:
    "log stream: lines/s of one chatty container into the stream and a syslog drain, CPU per 10k lines, tail latency",
  available: (o) => platformUnavailable(o.redisUrl, ["paas/busybox:latest"]),
  run,
};
