import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Redis } from "ioredis";
import { storeOver } from "../src/store/index.js";
import { deleteNamespace, startNodeChild } from "./router-parts.js";
import type { BenchContext, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import { makeTempDir, median } from "./util.js";

// domains (issue 8): how long a domain change takes to reach every router process through
// the change feed. Two router processes (bench/router-child.ts, the real startRouter over a
// real Redis) serve one app; each sample adds a custom domain with the store call the API
// makes (DomainsStore.add: the claim and the publish in one Lua script), then polls both
// routers over keep-alive HTTP with that Host until each answers 200 (time = first 200),
// and the same for removing it (first 404). Meanwhile a request loop on the app's own name
// against both routers counts anything but a 200: no request may be dropped by a change.

const APP = "feed";
const DOMAIN = "bench.test";
/** Issue 8: changes reach every router process in <= 100 ms (median). */
export const FEED_MEDIAN_TARGET_MS = 100;
const SAMPLES_PER_ROUND = 20;
const POLL_LIMIT_MS = 5_000;

function get(agent: http.Agent, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", headers: { host }, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(3_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** ms from `t0` until `host` answers `status` on the router at `port`. */
async function seenAfter(
  agent: http.Agent,
  port: number,
  host: string,
  status: number,
  t0: number,
): Promise<number> {
  for (;;) {
    if ((await get(agent, port, host)) === status) return performance.now() - t0;
    if (performance.now() - t0 > POLL_LIMIT_MS)
      throw new Error(`${host} never answered ${status} on :${port}`);
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export const domainsScenario: Scenario = {
  name: "domains",
  describe: "domain change -> seen by 2 router processes (change feed latency), no request dropped",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { say, cleanup, options } = ctx;
    const ns = `bench-${randomBytes(4).toString("hex")}`;
    const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2 });
    cleanup.add("disconnect redis", () => redis.disconnect());
    cleanup.add(`delete namespace ${ns}`, () => deleteNamespace(redis, ns));
    const store = storeOver(redis, ns);

    const upstream = http.createServer((_req, res) => res.end("ok\n"));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    cleanup.add("stop upstream", () => new Promise<void>((r) => upstream.close(() => r())));
    upstream.keepAliveTimeout = 60_000;
    await store.routes.put({
      app: APP,
      backends: [{ host: "127.0.0.1", port: (upstream.address() as AddressInfo).port }],
      domains: [],
    });

    const dir = await makeTempDir("paas-bench-domains-", cleanup);
    const env = {
      PAAS_REDIS_URL: options.redisUrl,
      PAAS_NAMESPACE: ns,
      PAAS_DOMAIN: DOMAIN,
      PAAS_BENCH_ACCESS_LOG: "off",
    };
    const routers = [
      await startNodeChild(ctx, "router 1", "router-child", env, path.join(dir, "router-1.log")),
      await startNodeChild(ctx, "router 2", "router-child", env, path.join(dir, "router-2.log")),
    ];
    const agents = routers.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    cleanup.add("close agents", () => {
      for (const a of agents) a.destroy();
    });
    for (const [i, r] of routers.entries())
      await seenAfter(agents[i], r.port, `${APP}.${DOMAIN}`, 200, performance.now());

    // The app's own name must keep answering 200 on both routers while domains change.
    let stopLoad = false;
    let served = 0;
    let dropped = 0;
    const load = routers.map(async (r) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (!stopLoad) {
        const status = await get(agent, r.port, `${APP}.${DOMAIN}`).catch(() => 0);
        if (status === 200) served++;
        else dropped++;
      }
      agent.destroy();
    });

    const add: number[][] = routers.map(() => []);
    const remove: number[][] = routers.map(() => []);
    const samples = SAMPLES_PER_ROUND * options.rounds;
    try {
      for (let n = 0; n < samples; n++) {
        const name = `d${n}.feed.example.test`;
        let t0 = performance.now();
        await store.domains.add(APP, [name]);
        const added = await Promise.all(routers.map((r, i) => seenAfter(agents[i], r.port, name, 200, t0)));
        for (const [i, ms] of added.entries()) add[i].push(ms);
        t0 = performance.now();
        await store.domains.remove(APP, name);
        const gone = await Promise.all(routers.map((r, i) => seenAfter(agents[i], r.port, name, 404, t0)));
        for (const [i, ms] of gone.entries()) remove[i].push(ms);
      }
    } finally {
      stopLoad = true;
      await Promise.all(load);
    }
    say(
      `domains: ${samples} adds and removes seen by ${routers.length} routers; ${served} background requests, ${dropped} not 200`,
    );

    const ms = (v: number) => ({ value: Math.round(v * 10) / 10, unit: "ms" });
    const rows: ResultRow[] = [];
    for (const [i] of routers.entries()) {
      for (const [what, xs] of [
        ["add", add[i]],
        ["remove", remove[i]],
      ] as const) {
        rows.push({
          group: "change feed: store write -> first answer reflecting it",
          label: `router ${i + 1}, ${what}`,
          metrics: { median: ms(median(xs)), p95: ms(pct(xs, 95)), max: ms(Math.max(...xs)) },
        });
      }
    }
    const all = [...add.flat(), ...remove.flat()];
    const slowest = add[0].map((_, k) =>
      Math.max(...routers.map((__, i) => Math.max(add[i][k], remove[i][k]))),
    );
    return {
      scenario: "domains",
      rows,
      ratios: [
        {
          name: "change-feed median (ms)",
          value: median(all),
          of: "ms from the domain store write to the router answering for the new name, both routers",
          target: {
            max: FEED_MEDIAN_TARGET_MS,
            text: "issue 8: changes reach every router process in <= 100 ms",
          },
        },
        {
          name: "slowest router per change, median (ms)",
          value: median(slowest),
          of: "per change, the later of the two routers (add or remove)",
          target: { max: FEED_MEDIAN_TARGET_MS, text: "every router, not just the first" },
        },
        {
          name: "requests dropped during changes",
          value: dropped,
          of: `non-200 answers among ${served + dropped} requests to the app's own name meanwhile`,
          target: { max: 0, text: "issue 8: no request dropped" },
        },
      ],
      notes: [
        `${samples} changes (add then remove), polled over keep-alive HTTP: latency includes one request's round trip (~0.2-1 ms)`,
        "Both router processes subscribe to the same Redis pub/sub channel; the API adds its own HTTP round trip on top.",
      ],
      raw: { add, remove },
    };
  },
};
