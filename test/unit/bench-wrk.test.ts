import { describe, expect, it } from "vitest";
import {
  parseWrkBytes,
  parseWrkCount,
  parseWrkOutput,
  parseWrkTime,
  totalErrors,
  wrkArgs,
} from "../../bench/wrk.js";

// Real `wrk --latency` reports (wrk 4.1.0), as the bench parses them.

const CLEAN = `Running 2s test @ http://127.0.0.1:18999/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    71.02ms  167.42ms 992.95ms   89.60%
    Req/Sec     3.07k     2.80k    9.99k    68.57%
  Latency Distribution
     50%    4.89ms
     75%   25.10ms
     90%  257.48ms
     99%  793.59ms
  10778 requests in 2.06s, 2.30MB read
Requests/sec:   5223.04
Transfer/sec:      1.12MB
`;

const WITH_ERRORS = `Running 10s test @ http://127.0.0.1:40111/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us    1.20s     2.00m    97.10%
    Req/Sec   150.25     40.10   300.00     70.00%
  Latency Distribution
     50%  812.00us
     75%    1.02ms
     90%    3.50ms
     99%     1.20s
  2990 requests in 10.01s, 512.00KB read
  Socket errors: connect 3, read 12, write 0, timeout 7
  Non-2xx or 3xx responses: 41
Requests/sec:    298.70
Transfer/sec:     51.15KB
`;

describe("wrk units", () => {
  it("reads times into milliseconds", () => {
    expect(parseWrkTime("812.00us")).toBeCloseTo(0.812);
    expect(parseWrkTime("4.89ms")).toBeCloseTo(4.89);
    expect(parseWrkTime("1.20s")).toBeCloseTo(1200);
    expect(parseWrkTime("2.00m")).toBeCloseTo(120_000);
    expect(parseWrkTime("1.00h")).toBeCloseTo(3_600_000);
    expect(() => parseWrkTime("fast")).toThrow(/unreadable time/);
  });

  it("reads counts with metric suffixes and sizes with binary ones", () => {
    expect(parseWrkCount("3.07k")).toBeCloseTo(3070);
    expect(parseWrkCount("1.50M")).toBeCloseTo(1_500_000);
    expect(parseWrkCount("523")).toBe(523);
    expect(parseWrkBytes("512.00B")).toBe(512);
    expect(parseWrkBytes("1.00KB")).toBe(1024);
    expect(parseWrkBytes("1.12MB")).toBeCloseTo(1.12 * 1024 ** 2);
    expect(() => parseWrkBytes("1.12 MB")).toThrow(/unreadable size/);
  });
});

describe("parseWrkOutput", () => {
  it("parses a clean --latency report", () => {
    const r = parseWrkOutput(CLEAN);
    expect(r.threads).toBe(2);
    expect(r.connections).toBe(50);
    expect(r.requests).toBe(10778);
    expect(r.durationS).toBeCloseTo(2.06);
    expect(r.requestsPerSec).toBeCloseTo(5223.04);
    expect(r.transferPerSec).toBeCloseTo(1.12 * 1024 ** 2);
    expect(r.latency.avgMs).toBeCloseTo(71.02);
    expect(r.latency.stdevMs).toBeCloseTo(167.42);
    expect(r.latency.maxMs).toBeCloseTo(992.95);
    expect(r.latency.p50Ms).toBeCloseTo(4.89);
    expect(r.latency.p75Ms).toBeCloseTo(25.1);
    expect(r.latency.p90Ms).toBeCloseTo(257.48);
    expect(r.latency.p99Ms).toBeCloseTo(793.59);
    expect(r.errors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
    expect(r.non2xx3xx).toBe(0);
    expect(totalErrors(r)).toBe(0);
  });

  it("parses socket errors, non-2xx answers and mixed time units", () => {
    const r = parseWrkOutput(WITH_ERRORS);
    expect(r.latency.avgMs).toBeCloseTo(0.812);
    expect(r.latency.stdevMs).toBeCloseTo(1200);
    expect(r.latency.maxMs).toBeCloseTo(120_000);
    expect(r.latency.p50Ms).toBeCloseTo(0.812);
    expect(r.latency.p99Ms).toBeCloseTo(1200);
    expect(r.errors).toEqual({ connect: 3, read: 12, write: 0, timeout: 7 });
    expect(r.non2xx3xx).toBe(41);
    expect(totalErrors(r)).toBe(63);
    expect(r.transferPerSec).toBeCloseTo(51.15 * 1024);
  });

  it("leaves percentiles null without --latency", () => {
    const plain = CLEAN.replace(/ {2}Latency Distribution\n(?: +\d+% +\S+\n)+/, "");
    const r = parseWrkOutput(plain);
    expect(r.latency.p50Ms).toBeNull();
    expect(r.latency.p99Ms).toBeNull();
    expect(r.requestsPerSec).toBeCloseTo(5223.04);
  });

  it("does not mistake the Latency Distribution header for the stats line", () => {
    const r = parseWrkOutput(CLEAN);
    expect(r.latency.avgMs).not.toBeNaN();
  });

  it("throws, with the output, when wrk could not measure anything", () => {
    expect(() => parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n")).toThrow(
      /no thread\/connection line in output:\nunable to connect/,
    );
    const noRps = CLEAN.replace(/^Requests\/sec:.*\n/m, "");
    expect(() => parseWrkOutput(noRps)).toThrow(/Requests\/sec/);
  });
});

describe("wrkArgs", () => {
  it("builds a bounded run with latency percentiles and the Host header", () => {
    expect(
      wrkArgs({
        url: "http://127.0.0.1:8080/",
        host: "bench.bench.test",
        threads: 2,
        connections: 50,
        durationS: 10,
      }),
    ).toEqual([
      "-t2",
      "-c50",
      "-d10s",
      "--timeout",
      "5s",
      "--latency",
      "-H",
      "Host: bench.bench.test",
      "http://127.0.0.1:8080/",
    ]);
  });

  it("never asks for fewer connections than threads (wrk refuses that)", () => {
    expect(wrkArgs({ url: "http://127.0.0.1:1/", threads: 4, connections: 1, durationS: 1 })).toContain(
      "-c4",
    );
  });
});
