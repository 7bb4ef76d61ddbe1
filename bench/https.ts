import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { inspectPair } from "../src/domains/certs.js";
import { storeOver } from "../src/store/index.js";
import { keySecretBox } from "../src/store/secret-box.js";
import { deleteNamespace, startNodeChild } from "./router-parts.js";
import type { BenchContext, Ratio, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import { cpuSeconds, makeTempDir, median, which } from "./util.js";
import { runWrk, totalErrors } from "./wrk.js";

// https (issue 8): does offering HTTP/2 on the HTTPS listener cost HTTP/1.1 clients
// anything? Two router processes with the same certificate (EC P-256, from openssl) and
// route: one with a plain HTTPS server (https.createServer), one offering HTTP/2 by ALPN
// (http2.createSecureServer with allowHTTP1). wrk speaks HTTP/1.1 to both, rounds
// interleaved, medians; the router's CPU time per request does not depend on scheduling.

const run = promisify(execFile);
const APP = "bench";
const DOMAIN = "bench.test";
/** HTTP/2 may be offered if HTTP/1.1 keeps >= 95% of its req/s and <= 105% of its CPU per request. */
export const H1_KEPT_TARGET = 0.95;
export const CPU_TARGET = 1.05;

type Mode = "https" | "https+h2";
const MODES: Mode[] = ["https", "https+h2"];

export const httpsScenario: Scenario = {
  name: "https",
  describe: "HTTP/1.1 over the router's HTTPS listener with and without HTTP/2 offered (ALPN)",
  async available() {
    if (!which("wrk")) return "wrk is not installed (npm run setup installs it)";
    if (!which("openssl")) return "openssl is not installed";
    return null;
  },
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { say, cleanup, options: o } = ctx;
    const ns = `bench-${randomBytes(4).toString("hex")}`;
    const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 2 });
    cleanup.add("disconnect redis", () => redis.disconnect());
    cleanup.add(`delete namespace ${ns}`, () => deleteNamespace(redis, ns));
    const dir = await makeTempDir("paas-bench-https-", cleanup);
    const secret = randomBytes(32);
    const store = storeOver(redis, ns);
    store.certs.useSecretBox(keySecretBox(secret));

    const [certFile, keyFile] = [path.join(dir, "c.pem"), path.join(dir, "k.pem")];
    await run("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
      ...[
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-subj",
        `/CN=*.${DOMAIN}`,
        "-addext",
        `subjectAltName=DNS:*.${DOMAIN}`,
      ],
    ]);
    const [chain, key] = [await fsp.readFile(certFile, "utf8"), await fsp.readFile(keyFile, "utf8")];
    // The platform default: wrk names 127.0.0.1 in its SNI, which the default answers.
    await store.certs.put({ ...inspectPair(chain, key), app: null, source: "manual", chain, key });

    const upstream = await startNodeChild(
      ctx,
      "upstream",
      "upstream-child",
      {},
      path.join(dir, "upstream.log"),
    );
    await store.routes.put({ app: APP, backends: [{ host: "127.0.0.1", port: upstream.port }], domains: [] });
    const env = {
      PAAS_REDIS_URL: o.redisUrl,
      PAAS_NAMESPACE: ns,
      PAAS_DOMAIN: DOMAIN,
      PAAS_BENCH_SECRET: secret.toString("base64"),
    };
    const routers = {
      https: await startNodeChild(
        ctx,
        "router https",
        "https-child",
        { ...env, PAAS_BENCH_HTTP2: "off" },
        path.join(dir, "r1.log"),
      ),
      "https+h2": await startNodeChild(
        ctx,
        "router https+h2",
        "https-child",
        { ...env, PAAS_BENCH_HTTP2: "on" },
        path.join(dir, "r2.log"),
      ),
    };
    const load = (mode: Mode, durationS: number) =>
      runWrk({
        url: `https://127.0.0.1:${routers[mode].port}/`,
        host: `${APP}.${DOMAIN}`,
        threads: o.threads,
        connections: o.connections,
        durationS,
      });

    for (const mode of MODES) {
      if (o.warmupS > 0) await load(mode, o.warmupS);
    }
    const samples: Record<Mode, { rps: number; p99: number; cpuUs: number; errors: number }[]> = {
      https: [],
      "https+h2": [],
    };
    for (let round = 1; round <= o.rounds; round++) {
      for (const mode of round % 2 === 1 ? MODES : [...MODES].reverse()) {
        const pid = routers[mode].child.pid;
        const cpu0 = cpuSeconds([pid]);
        const r = await load(mode, o.durationS);
        const cpuUs = ((cpuSeconds([pid]) - cpu0) * 1e6) / Math.max(1, r.requests);
        samples[mode].push({
          rps: r.requestsPerSec,
          p99: r.latency.p99Ms ?? Number.NaN,
          cpuUs,
          errors: totalErrors(r),
        });
        say(
          `round ${round} ${mode}: ${Math.round(r.requestsPerSec)} req/s, ${cpuUs.toFixed(1)} us CPU/request`,
        );
      }
    }
    const med = (mode: Mode, k: "rps" | "p99" | "cpuUs") => median(samples[mode].map((s) => s[k]));
    const rows: ResultRow[] = MODES.map((mode) => ({
      group: "HTTP/1.1 clients (wrk) through the router's HTTPS listener",
      label: mode === "https" ? "https.createServer" : "http2.createSecureServer, allowHTTP1",
      metrics: {
        "req/s": { value: Math.round(med(mode, "rps")), unit: "" },
        p99: { value: med(mode, "p99"), unit: "ms" },
        "router CPU/req": { value: Math.round(med(mode, "cpuUs") * 10) / 10, unit: "us" },
        errors: { value: samples[mode].reduce((n, s) => n + s.errors, 0), unit: "" },
      },
    }));
    const ratios: Ratio[] = [
      {
        name: "HTTP/1.1 req/s with HTTP/2 offered",
        value: med("https+h2", "rps") / med("https", "rps"),
        of: "req/s through http2.createSecureServer(allowHTTP1) / through https.createServer",
        target: { min: H1_KEPT_TARGET, text: "HTTP/2 must not hurt HTTP/1.1" },
      },
      {
        name: "HTTP/1.1 CPU/request with HTTP/2 offered",
        value: med("https+h2", "cpuUs") / med("https", "cpuUs"),
        of: "router CPU per request, HTTP/2 offered / not",
        target: { max: CPU_TARGET, text: "HTTP/2 must not hurt HTTP/1.1" },
      },
    ];
    return {
      scenario: "https",
      rows,
      ratios,
      notes: [
        "One router process each, same certificate (EC P-256), route and upstream; TLS sessions are not resumed within a wrk connection (keep-alive reuses it).",
        "HTTP/2 clients themselves are not loaded here (no h2 load generator in setup); e2e checks they are served.",
      ],
      raw: samples,
    };
  },
};
