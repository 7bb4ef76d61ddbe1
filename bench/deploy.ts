import fsp from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { stackImages } from "../src/builder/stack.js";
import { connectDocker, ownedLabels } from "../src/docker/index.js";
import { BenchPlatform, imageSize, type PushResult, platformUnavailable } from "./platform.js";
import type { BenchContext, Ratio, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import { readTimeline, span, type Timeline } from "./timeline.js";
import { median, probe, sleep, waitFor } from "./util.js";

// deploy (issue 3): push-to-live for a warm Node app (test/fixtures/apps/bp-node-express,
// express + package-lock.json, built by the nodejs buildpack, node_modules cached by an
// earlier push). "Live" is the first 200 carrying the new commit's marker through the
// router, seen by a poller that asks every POLL_MS during the push. The split comes from the
// push's streamed "remote:" lines and when each reached git (./timeline.ts):
//   receive  push start -> "Building <app> from commit"   (pack upload, hook, git archive, queue)
//   build    -> "Building image"                          (compile container: detect, restore cache, build script)
//   image    -> "Process types"                           (slug -> image on the run stack, release saved)
//   start    -> "Traffic moved" (route table switched)    (create + start containers, port/startup checks)
//   route    -> first new 200 through the router          (route change reaches the router)
//   window   "Traffic moved" -> "Released"                (stay-up window, after live; the pusher waits for it)
// Baseline in the same run: `docker run` of the same release image to its first 200 on the
// published port (what a bare container start costs; the platform's start adds its checks).

const APP = "nodeapp";
const POLL_MS = 25;

const SERVER_JS = `// paas deploy benchmark: the fixture's express app, answering with a per-commit marker.
const fs = require("node:fs");
const express = require("express");
const mark = fs.readFileSync(__dirname + "/version.txt", "utf8").trim();
const app = express();
app.get("/", (_req, res) => res.type("text/plain").send(\`bench deploy \${mark} on node \${process.version}\\n\`));
app.listen(Number(process.env.PORT || 5000), () => console.log(\`listening on \${process.env.PORT}\`));
`;

interface DeploySample {
  round: number;
  receiveS: number | null;
  buildS: number | null;
  imageS: number | null;
  startS: number | null;
  checksS: number | null;
  routeS: number | null;
  windowS: number | null;
  liveS: number | null;
  pushS: number;
  cacheUsed: boolean;
}

/** Poll the router until the body carries `mark` (bounded by `until()` + a grace); ms after `t0`. */
async function pollLive(
  p: BenchPlatform,
  mark: string,
  t0: number,
  done: () => boolean,
): Promise<number | null> {
  let doneAt: number | null = null;
  for (;;) {
    const sent = performance.now();
    try {
      const r = await p.get(APP, "/", 2_000);
      if (r.status === 200 && r.body.includes(`bench deploy ${mark} `)) return sent - t0;
    } catch {}
    if (done()) doneAt ??= performance.now();
    if (doneAt !== null && performance.now() - doneAt > 30_000) return null;
    await sleep(POLL_MS);
  }
}

function sampleOf(round: number, push: PushResult, liveMs: number | null): DeploySample {
  const tl: Timeline = readTimeline(push.lines);
  const text = push.lines.map((l) => l.text).join("\n");
  return {
    round,
    receiveS: span(0, tl.building),
    buildS: span(tl.building, tl.buildingImage),
    imageS: span(tl.buildingImage, tl.processTypes),
    startS: span(tl.processTypes, tl.routed),
    checksS: span(tl.checking, tl.routed),
    // The "Draining" line travels hook -> git -> us; the poller may see the new body first.
    routeS: liveMs === null || tl.routed === null ? null : Math.max(0, liveMs - tl.routed) / 1000,
    windowS: span(tl.routed, tl.released),
    liveS: liveMs === null ? null : liveMs / 1000,
    pushS: push.ms / 1000,
    cacheUsed: text.includes("node_modules restored from cache"),
  };
}

/** `docker run` of an image (web process, PORT=5000, published on 127.0.0.1) to its first 200, seconds. */
async function dockerRunToFirst200(ctx: BenchContext, ns: string, image: string): Promise<number> {
  const docker = connectDocker().raw;
  const t0 = performance.now();
  const c = await docker.createContainer({
    Image: image,
    Env: ["PORT=5000"],
    Labels: ownedLabels(ns, { "paas.kind": "bench" }),
    ExposedPorts: { "5000/tcp": {} },
    HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
  });
  ctx.cleanup.add(`remove baseline container ${c.id.slice(0, 12)}`, () =>
    c.remove({ force: true }).catch(() => {}),
  );
  await c.start();
  const info = await c.inspect();
  const port = Number(info.NetworkSettings.Ports["5000/tcp"]?.[0]?.HostPort);
  await waitFor(
    "the baseline container's first 200",
    async () => ((await probe(port, undefined, 1_000)).status === 200 ? true : undefined),
    60_000,
    POLL_MS,
  );
  const s = (performance.now() - t0) / 1000;
  await c.remove({ force: true });
  return s;
}

const med = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length > 0 ? median(v) : null;
};

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const { say } = ctx;
  const p = await BenchPlatform.start(ctx);
  const repo = await p.fixtureRepo("bp-node-express", async (dir) => {
    await fsp.writeFile(path.join(dir, "server.js"), SERVER_JS);
    await fsp.writeFile(path.join(dir, "version.txt"), "initial\n");
  });
  await p.createApp(repo, APP);
  say("first push (cold: fills the build cache; not measured)");
  const first = await p.pushOk(repo);
  await waitFor(
    "the first release to serve",
    async () => ((await p.get(APP)).body.includes("bench deploy initial ") ? true : undefined),
    60_000,
    200,
  );

  const samples: DeploySample[] = [];
  const baselines: number[] = [];
  const logs: Array<Array<{ t: number; text: string }>> = [];
  const rounds = Math.max(1, ctx.options.rounds);
  for (let r = 1; r <= rounds; r++) {
    const mark = `round-${r}`;
    await p.commit(repo, { "version.txt": `${mark}\n` }, `deploy ${mark}`);
    let pushDone = false;
    const t0 = performance.now();
    const pushing = p.push(repo).finally(() => {
      pushDone = true;
    });
    const [push, live] = await Promise.all([pushing, pollLive(p, mark, t0, () => pushDone)]);
    if (push.code !== 0) throw new Error(`git push exited with ${push.code}:\n${push.out.slice(-3000)}`);
    // t0 and push.startedAt are a few microseconds apart; count from the push's own start.
    const liveMs = live === null ? null : live - (push.startedAt - t0);
    const s = sampleOf(r, push, liveMs);
    samples.push(s);
    logs.push(push.lines.map((l) => ({ t: Math.round(l.t), text: l.text })));
    say(
      `round ${r}: live after ${s.liveS?.toFixed(2)}s (receive ${s.receiveS?.toFixed(2)}, build ${s.buildS?.toFixed(2)}, ` +
        `image ${s.imageS?.toFixed(2)}, start ${s.startS?.toFixed(2)}, route ${s.routeS?.toFixed(2)}); git push ${s.pushS.toFixed(1)}s`,
    );
    // Baseline, interleaved: the same image started by hand.
    const images = (await p.images(APP))
      .filter((i) => i.Labels?.["paas.process-types"])
      .sort((a, b) => b.Created - a.Created);
    const tag = images[0]?.RepoTags?.[0];
    if (tag) baselines.push(await dockerRunToFirst200(ctx, p.ns, tag));
  }

  const split: Array<[string, keyof DeploySample, string]> = [
    ["receive", "receiveS", "push start -> worker starts the build"],
    ["build", "buildS", "compile container (cache restored)"],
    ["image", "imageS", "slug -> image"],
    ["start", "startS", "containers created, started, checked; route table switched"],
    ["  of which checks", "checksS", "TCP (+ app.json startup) checks"],
    ["route", "routeS", "route change -> first new 200 via the router"],
    ["push-to-live", "liveS", "git push start -> first 200 of the new commit"],
    ["window", "windowS", "traffic moved -> released (stay-up check, old ones stand by)"],
    ["git push (total)", "pushS", "+ window, release record; the old container drains in the background"],
  ];
  const nums = (key: keyof DeploySample) =>
    samples.map((s) => s[key]).filter((x): x is number => typeof x === "number");
  const rows: ResultRow[] = split.map(([label, key, what]) => {
    const xs = nums(key);
    return {
      group: `push-to-live, warm Node app (median of ${samples.length})`,
      label: `${label.padEnd(18)} ${what}`,
      metrics: {
        seconds: { value: xs.length > 0 ? median(xs) : null, unit: "s" },
        min: { value: xs.length > 0 ? Math.min(...xs) : null, unit: "s" },
        max: { value: xs.length > 0 ? Math.max(...xs) : null, unit: "s" },
      },
    };
  });
  const base = med(baselines);
  rows.push({
    group: "baseline",
    label: "docker run of the same image -> first 200 (direct port)",
    metrics: {
      seconds: { value: base, unit: "s" },
      min: { value: baselines.length ? Math.min(...baselines) : null, unit: "s" },
      max: { value: baselines.length ? Math.max(...baselines) : null, unit: "s" },
    },
  });

  const appImage = (await p.images(APP))
    .filter((i) => i.Labels?.["paas.process-types"])
    .sort((a, b) => b.Created - a.Created)[0];
  const stackBuild = stackImages({ stackBuildImage: null, stackRunImage: null }).build;
  const buildBytes = await imageSize(stackBuild);
  rows.push(
    {
      group: "image size",
      label: `nodejs fixture image ${appImage?.RepoTags?.[0] ?? "?"}`,
      metrics: { size: { value: appImage ? appImage.Size / 1e6 : null, unit: "MB" } },
    },
    {
      group: "image size",
      label: `build stack ${stackBuild}`,
      metrics: { size: { value: buildBytes === null ? null : buildBytes / 1e6, unit: "MB" } },
    },
  );

  const startRoute = med(
    samples.map((s) => (s.startS !== null && s.routeS !== null ? s.startS + s.routeS : null)),
  );
  const liveMed = med(samples.map((s) => s.liveS));
  const ratios: Ratio[] = [
    {
      name: "platform start+route / docker run",
      value: startRoute !== null && base ? startRoute / base : null,
      of: "image ready -> live, over a bare docker run -> first 200 (the difference is mostly the checks)",
    },
    {
      name: "nodejs fixture image / build stack",
      value: appImage && buildBytes ? appImage.Size / buildBytes : null,
      of: "docker image inspect Size",
      target: { max: 0.5, text: 'at most half the build stack (issue 3: "well under")' },
    },
    {
      name: "build+image share of push-to-live",
      value:
        liveMed !== null ? (med(samples.map((s) => (s.buildS ?? 0) + (s.imageS ?? 0))) ?? 0) / liveMed : null,
      of: "how much of the wait is the build itself",
    },
  ];
  const stack = stackImages({ stackBuildImage: null, stackRunImage: null });
  const notes = [
    `app: test/fixtures/apps/bp-node-express (express, package-lock.json) with server.js answering a per-commit marker; ` +
      `${rounds} warm push(es) of a one-line change after a cold first push (${(first.ms / 1000).toFixed(1)}s)`,
    `platform defaults: PAAS_DRAIN_SECONDS unset (10 s, in the background: the next push does not wait), PAAS_CHECK_UPTIME unset (3 s, after the route moved: "window"); stacks ${stack.build} / ${stack.run}`,
    `live = first 200 with the new marker from a poller (every ${POLL_MS} ms, new connection each) through the router; ` +
      "phase times = arrival of the streamed remote: headings at git (bench/timeline.ts)",
  ];
  const cold = samples.filter((s) => !s.cacheUsed);
  if (cold.length > 0)
    notes.push(
      `UNEXPECTED: round(s) ${cold.map((s) => s.round)} did not restore node_modules from the cache`,
    );
  if (samples.some((s) => s.liveS === null))
    notes.push("UNEXPECTED: a push never served its new marker through the router");

  notes.push(...(await p.serverProblems()));
  return { scenario: "deploy", rows, ratios, notes, raw: { samples, baselines, logs } };
}

export const deployScenario: Scenario = {
  name: "deploy",
  describe: "git push to live for a warm Node app, split into receive / build / image / start / route",
  available: (options) => {
    const stack = stackImages({ stackBuildImage: null, stackRunImage: null });
    return platformUnavailable(options.redisUrl, [stack.build, stack.run]);
  },
  run,
};
