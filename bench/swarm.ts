import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { routerGet, SwarmEngine } from "../test/helpers/swarm-engine.js";
import { Load, type PhaseCount } from "./load.js";
import { BenchPlatform, fixtureDir, platformUnavailable } from "./platform.js";
import type { BenchContext, Ratio, ResultRow, Scenario, ScenarioResult } from "./scenarios.js";
import { sleep, waitFor, which } from "./util.js";

// swarm (issue 12): the swarm scheduler next to the docker scheduler, same app, same load.
// For each: push-to-live of a first deploy (git push start -> exit, the push ends when the
// release is live), then steady load through the router while the app is redeployed (git
// push) and reconfigured (config:set): requests sent, failed. The swarm side runs on a
// 1-node swarm of its own (a second dockerd in a network namespace, its own registry: the
// test helper test/helpers/swarm-engine.ts), the worker and router in a container on the
// overlay; its router is reached at the namespace's address, the docker one on loopback.

const APP = "swarmb";
const LOAD_DEADLINE_MS = 10 * 60_000;

interface Side {
  label: string;
  pushS: number;
  redeploy: PhaseCount;
  config: PhaseCount;
}

async function writeMark(dir: string, mark: string): Promise<void> {
  const original = await fsp.readFile(path.join(fixtureDir("dockerfile-hello"), "www/index.html"), "utf8");
  await fsp.writeFile(path.join(dir, "www/index.html"), original.replace("VERSION_MARK", `version ${mark}`));
}

async function measure(
  ctx: BenchContext,
  label: string,
  p: BenchPlatform,
  address: string,
  port: number,
): Promise<Side> {
  const repo = await p.fixtureRepo("dockerfile-hello", (dir) => writeMark(dir, "one"));
  await p.createApp(repo, APP);
  const push = await p.pushOk(repo);
  const body = async () => {
    const r = await routerGet(address, port, p.host(APP));
    return r.status === 200 ? r.body : "";
  };
  await waitFor(
    "the app to answer",
    async () => ((await body()).includes("version one") ? true : undefined),
    30_000,
    200,
  );
  const load = new Load({
    address,
    port,
    host: p.host(APP),
    path: "/",
    loops: 4,
    pauseMs: 5,
    capPerLoop: 200_000,
    deadline: performance.now() + LOAD_DEADLINE_MS,
    timeoutMs: 10_000,
  });
  ctx.cleanup.add(`stop the ${label} load`, async () => {
    await load.stop();
  });
  load.start();
  await sleep(1_000);
  ctx.say(`${label}: redeploy under load`);
  load.phase("redeploy");
  await writeMark(repo, "two");
  await p.git(["commit", "-qam", "version two"], repo);
  await p.pushOk(repo);
  await waitFor(
    "version two",
    async () => ((await body()).includes("version two") ? true : undefined),
    30_000,
    200,
  );
  const redeploy = load.phase("config");
  ctx.say(`${label}: config change under load`);
  await p.cliOk(["config:set", "GREETING=bench"], repo);
  await sleep(3_000);
  const config = load.phase("(after)");
  await load.stop();
  return { label, pushS: push.ms / 1000, redeploy, config };
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const docker = await BenchPlatform.start(ctx, { env: { PAAS_DRAIN_SECONDS: "2", PAAS_CHECK_UPTIME: "1" } });
  const one = await measure(ctx, "docker scheduler", docker, "127.0.0.1", docker.routerPort);

  const engine = new SwarmEngine();
  ctx.cleanup.add("stop the swarm engine", () => engine.stop());
  ctx.say("starting a dockerd of its own in a network namespace (1-node swarm) and a registry");
  await engine.start(["paas/busybox:latest", "paas/debian:bookworm"]);
  await engine.startRegistry();
  const common = {
    PAAS_SCHEDULER: "swarm",
    PAAS_REDIS_URL: engine.redisUrl,
    PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
    PAAS_DRAIN_SECONDS: "2",
    PAAS_CHECK_UPTIME: "1",
  };
  const swarm = await BenchPlatform.start(ctx, {
    env: { ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` },
  });
  await engine.startWorker(swarm.ns, {
    ...common,
    PAAS_DOMAIN: swarm.domain,
    PAAS_REGISTRY: engine.registry,
    PAAS_REGISTRY_CONFIG: engine.registryConfig,
  });
  const two = await measure(ctx, "swarm scheduler", swarm, engine.engineIp, engine.routerPort);

  const rows: ResultRow[] = [one, two].map((s) => ({
    label: s.label,
    metrics: {
      "push-to-live": { value: s.pushS, unit: "s" },
      "redeploy requests": { value: s.redeploy.total, unit: "" },
      "redeploy failed": { value: s.redeploy.failed, unit: "" },
      "config requests": { value: s.config.total, unit: "" },
      "config failed": { value: s.config.failed, unit: "" },
    },
  }));
  const ratios: Ratio[] = [
    {
      name: "swarm / docker push-to-live",
      value: two.pushS / one.pushS,
      of: "first deploy, git push start -> exit",
    },
    {
      name: "swarm failed requests (redeploy + config)",
      value: two.redeploy.failed + two.config.failed,
      of: "requests through the router that failed while the swarm app was redeployed and reconfigured",
      target: { min: 0, max: 0, text: "zero-downtime deploys hold in swarm mode" },
    },
  ];
  const notes = [
    "app: test/fixtures/apps/dockerfile-hello; 4 keep-alive loops, 5 ms pause; PAAS_DRAIN_SECONDS=2, PAAS_CHECK_UPTIME=1 on both",
    "swarm: 1-node swarm on a dockerd in its own network namespace, images pushed to a registry there and run by digest; its router runs in a container on the overlay, reached over a veth",
    ...[one, two].flatMap((s) =>
      [s.redeploy, s.config]
        .filter((c) => c.failed > 0)
        .map((c) => `${s.label} ${c.name}: failures ${JSON.stringify(c.failures)}`),
    ),
    ...(await swarm.serverProblems()),
  ];
  return { scenario: "swarm", rows, ratios, notes };
}

export const swarmScenario: Scenario = {
  name: "swarm",
  describe:
    "push-to-live and failed requests through a redeploy and a config change: swarm scheduler (1-node swarm of its own) next to the docker scheduler",
  async available(options) {
    if (process.getuid?.() !== 0) return "needs root (a network namespace and a second dockerd)";
    for (const bin of ["dockerd", "nsenter", "ip", "docker-registry"]) if (!which(bin)) return `needs ${bin}`;
    return platformUnavailable(options.redisUrl, ["paas/busybox:latest", "paas/debian:bookworm"]);
  },
  run,
};
