import fsp from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Load, type PhaseCount, percentile } from "./load.js";
import { BenchPlatform, fixtureDir, platformUnavailable } from "./platform.js";
import type { BenchContext, Ratio, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import { sleep, waitFor } from "./util.js";

// zero-downtime (issue 4): a steady load through the router on a running app while it is
// redeployed (git push of a changed commit), reconfigured (config:set), rolled back
// (releases:rollback), scaled 1 -> 3 and 3 -> 1. For each change: the requests clients sent
// while it ran, how many failed (non-200 or a connection error/timeout), and how long the
// change took. Baseline: the same load while nothing changes. The target is zero failed.
//
// The app is test/fixtures/apps/dockerfile-hello (busybox httpd, builds in seconds). The
// platform runs with its default drain (PAAS_DRAIN_SECONDS unset: 10 s, in the background
// after a push or config change; scale 3 -> 1 waits for it) and checks (PAAS_CHECK_UPTIME
// unset: 3 s, watched after traffic moved, the old containers standing by). The last phase
// pushes a release whose web dies inside that window: rejected, the old one serving.

const APP = "zdt";
const LOOPS = 4;
const PAUSE_MS = 5;
const CAP_PER_LOOP = 200_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Whole load run, all phases: a hard stop for the loops whatever happens. */
const LOAD_DEADLINE_MS = 20 * 60_000;

async function prepare(p: BenchPlatform): Promise<string> {
  return p.fixtureRepo("dockerfile-hello", async (dir) => {
    await writeMark(dir, "one");
  });
}

async function writeMark(dir: string, mark: string): Promise<void> {
  const file = path.join(dir, "www/index.html");
  const original = await fsp.readFile(path.join(fixtureDir("dockerfile-hello"), "www/index.html"), "utf8");
  await fsp.writeFile(file, original.replace("VERSION_MARK", `version ${mark}`));
}

interface PhaseResult {
  name: string;
  /** The command that made the change: wall time from start to its exit. */
  changeS: number;
  count: PhaseCount;
}

function summarize(c: PhaseCount) {
  const seconds = ((c.endedAt ?? performance.now()) - c.startedAt) / 1000;
  return {
    seconds,
    rps: seconds > 0 ? c.total / seconds : null,
    p50: percentile(c.latenciesMs, 50),
    p99: percentile(c.latenciesMs, 99),
    max: c.latenciesMs.length > 0 ? Math.max(...c.latenciesMs) : null,
  };
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const { say } = ctx;
  const p = await BenchPlatform.start(ctx);
  const repo = await prepare(p);
  await p.createApp(repo, APP);
  say("first deploy of dockerfile-hello (no load yet)");
  await p.pushOk(repo);
  await waitFor(
    "the app to answer through the router",
    async () => ((await p.get(APP)).status === 200 ? true : undefined),
    30_000,
    200,
  );

  const load = new Load({
    port: p.routerPort,
    host: p.host(APP),
    path: "/",
    loops: LOOPS,
    pauseMs: PAUSE_MS,
    capPerLoop: CAP_PER_LOOP,
    deadline: performance.now() + LOAD_DEADLINE_MS,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  ctx.cleanup.add("stop the load loops", async () => {
    await load.stop();
  });
  load.start();
  const results: PhaseResult[] = [];

  /** Run one change under load; its phase lasts from the command's start to the check after it. */
  const phase = async (
    name: string,
    change: () => Promise<void>,
    check: () => Promise<string | undefined>,
  ) => {
    say(`phase ${name}`);
    load.phase(name);
    const t0 = performance.now();
    await change();
    const changeS = (performance.now() - t0) / 1000;
    const seen = await waitFor(`${name} to take effect`, check, 30_000, 200);
    const count = load.phase("(between phases)");
    say(
      `  ${name}: ${count.total} requests, ${count.failed} failed, change took ${changeS.toFixed(1)}s; ${seen}`,
    );
    results.push({ name, changeS, count });
    await sleep(1_000);
  };

  const body = async (urlPath = "/") => {
    const r = await p.get(APP, urlPath);
    return r.status === 200 ? r.body : "";
  };
  const webCount = async () =>
    (await p.containers(APP)).filter((c) => c.Labels["paas.process"] === "web" && c.State === "running")
      .length;

  // Baseline: the same load while nothing changes.
  await phase(
    "steady (no change)",
    () => sleep(Math.max(5, ctx.options.durationS) * 1000),
    async () => "nothing changed",
  );

  await phase(
    "redeploy (git push)",
    async () => {
      await writeMark(repo, "two");
      await p.git(["commit", "-qam", "version two"], repo);
      await p.pushOk(repo);
    },
    async () => ((await body()).includes("version two") ? "serving version two" : undefined),
  );

  await phase(
    "config change",
    async () => {
      await p.cliOk(["config:set", "GREETING=under-load"], repo);
    },
    async () => ((await body("/cgi-bin/env")).includes("greeting=under-load") ? "GREETING set" : undefined),
  );

  await phase(
    "rollback to v1",
    async () => {
      await p.cliOk(["releases:rollback", "v1"], repo);
    },
    async () => {
      const [root, env] = [await body(), await body("/cgi-bin/env")];
      return root.includes("version one") && env.includes("greeting=\n") ? "serving v1 again" : undefined;
    },
  );

  await phase(
    "scale web 1 -> 3",
    async () => {
      await p.cliOk(["ps:scale", "web=3"], repo);
    },
    async () => ((await webCount()) === 3 ? "3 web containers" : undefined),
  );

  await phase(
    "scale web 3 -> 1",
    async () => {
      await p.cliOk(["ps:scale", "web=1"], repo);
    },
    async () => ((await webCount()) === 1 ? "1 web container" : undefined),
  );

  // A release whose web answers, then dies ~1.5 s after it started: inside the stay-up
  // window, after traffic moved to it. The old container stands by as the router's
  // fallback and takes the route back; the push is rejected.
  let crashPush = "";
  await phase(
    "crash inside the window (push rejected)",
    async () => {
      await writeMark(repo, "crashing");
      await fsp.writeFile(
        path.join(repo, "Procfile"),
        "web: httpd -p $PORT -h /www && sleep 1.5 && echo crashing now && exit 3\n",
      );
      await p.git(["add", "-A"], repo);
      await p.git(["commit", "-qm", "a release whose web dies after 1.5 s"], repo);
      const r = await p.push(repo);
      if (r.code === 0) throw new Error("the crashing release was not rejected");
      crashPush = r.lines.find((l) => /stopped within/.test(l.text))?.text.trim() ?? "(no window line)";
    },
    async () => {
      const root = await body();
      return root.includes("version one") ? "still serving v1 (the pre-crash release)" : undefined;
    },
  );

  await load.stop();
  const between = load.phases.filter((c) => c.name === "(between phases)");

  const rows: ResultRow[] = results.map((r) => {
    const s = summarize(r.count);
    return {
      group: "requests through the router during each change",
      label: r.name,
      metrics: {
        requests: { value: r.count.total, unit: "" },
        failed: { value: r.count.failed, unit: "" },
        "change s": { value: r.changeS, unit: "s" },
        "phase s": { value: s.seconds, unit: "s" },
        "req/s": { value: s.rps, unit: "" },
        p50: { value: s.p50, unit: "ms" },
        p99: { value: s.p99, unit: "ms" },
        max: { value: s.max, unit: "ms" },
      },
    };
  });
  const betweenTotal = between.reduce((n, c) => n + c.total, 0);
  const betweenFailed = between.reduce((n, c) => n + c.failed, 0);
  rows.push({
    group: "requests through the router during each change",
    label: "(between phases, 1 s pauses)",
    metrics: { requests: { value: betweenTotal, unit: "" }, failed: { value: betweenFailed, unit: "" } },
  });

  const ratios: Ratio[] = results
    .filter((r) => r.name !== "steady (no change)")
    .map((r) => ({
      name: `${r.name}: failed share`,
      value: r.count.total > 0 ? r.count.failed / r.count.total : null,
      of: "failed / total requests",
      target: { max: 0, text: "zero failed requests" },
    }));

  const notes = [
    `load: ${LOOPS} loops of sequential keep-alive GET / (node http, one connection each, ${PAUSE_MS} ms pause, ` +
      `${REQUEST_TIMEOUT_MS / 1000} s timeout) to 127.0.0.1:<router> with Host ${APP}.${p.domain}; ` +
      `each loop capped at ${CAP_PER_LOOP} requests and ${LOAD_DEADLINE_MS / 60_000} min`,
    "platform defaults: PAAS_DRAIN_SECONDS unset (10 s drain), PAAS_CHECK_UPTIME unset (3 s), PAAS_START_TIMEOUT unset",
    'a request counts against the phase current when it started; "change s" is the CLI/git command\'s wall time, ' +
      '"phase s" adds the check that the change took effect',
  ];
  for (const r of results) {
    if (r.count.failed > 0) notes.push(`${r.name} failures: ${JSON.stringify(r.count.failures)}`);
    const bodies = Object.entries(r.count.bodies).map(([b, n]) => `${JSON.stringify(b)} x${n}`);
    notes.push(`${r.name} served: ${bodies.join(", ") || "-"}`);
  }
  if (betweenFailed > 0) {
    notes.push(`between-phase failures: ${JSON.stringify(between.map((c) => c.failures))}`);
  }
  if (crashPush) notes.push(`crash inside the window: ${crashPush}`);
  notes.push(...(await p.serverProblems()));
  if (load.capped) notes.push("a load loop hit its request cap or deadline: later phases saw less load");

  return {
    scenario: "zero-downtime",
    rows,
    ratios,
    notes,
    raw: results.map((r) => ({
      name: r.name,
      changeS: r.changeS,
      total: r.count.total,
      failed: r.count.failed,
      failures: r.count.failures,
      bodies: r.count.bodies,
      ...summarize(r.count),
    })),
  };
}

export const zeroDowntimeScenario: Scenario = {
  name: "zero-downtime",
  describe:
    "steady load through the router across a redeploy, config change, rollback, scale 1->3 and 3->1, and a release that crashes inside the stay-up window: failed requests per change (target 0)",
  available: (options) => platformUnavailable(options.redisUrl, ["paas/busybox:latest"]),
  run,
};
