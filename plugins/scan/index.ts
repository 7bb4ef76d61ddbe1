// Image scanning: OpenSCAP configuration checks and a package inventory (SBOM) of every
// release image. Policy per app (`paas scan:set policy off|warn|block`, default warn):
// warn scans after the release is live, in the background; block scans after the build,
// before any release, and a high-severity failure rejects the push (post-build veto).

import fsp from "node:fs/promises";
import path from "node:path";
import type { DockerParts } from "../../src/docker/index.js";
import type { TriggerArgs } from "../../src/plugins/catalog.js";
import type { CommandRequest, CommandResult, PluginContext, PluginModule } from "../../src/plugins/types.js";
import { type Summary, scanImage, summaryLine } from "./oscap.js";

type Ctx = PluginContext & { docker?: DockerParts };
type Policy = "off" | "warn" | "block";
const POLICIES: Policy[] = ["off", "warn", "block"];

interface ScanRecord {
  app: string;
  image: string;
  imageId: string;
  status: "running" | "done" | "error";
  startedAt: string;
  finishedAt?: string;
  dir: string;
  summary?: Summary;
  error?: string;
}

class ScanError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
    this.code = status === 404 ? "not_found" : "invalid_input";
  }
}

/** The app's policy, else the platform's default (PAAS_SCAN_POLICY), else warn. */
async function policyOf(ctx: Ctx, app: string): Promise<Policy> {
  const own = await ctx.kv.get<Policy>(`policy:${app}`);
  if (own) return own;
  const dflt = ctx.settings.PAAS_SCAN_POLICY as Policy | undefined;
  return dflt && POLICIES.includes(dflt) ? dflt : "warn";
}

function dataDir(ctx: Ctx): string {
  return ctx.settings.PAAS_DATA_DIR ?? "/var/lib/paas";
}

/** Image ids are what scans are kept by: a config-change release of the same image reuses its scan. */
async function imageId(docker: DockerParts, image: string): Promise<string> {
  const info = await docker.images.inspect(image);
  if (!info) throw new Error(`image ${image} not found`);
  return info.Id.replace(/^sha256:/, "").slice(0, 16);
}

/** A scan said to be running for this long was interrupted (its worker stopped). */
const STALE_MS = 10 * 60_000;
const stale = (r: ScanRecord) => Date.now() - Date.parse(r.startedAt) > STALE_MS;

/** Scans run one at a time per worker (the machine is small; a push never waits on a warn scan). */
let chain: Promise<unknown> = Promise.resolve();
/** Scans in progress in this worker, by key: a second release of the same image waits for the first. */
const inFlight = new Map<string, Promise<ScanRecord>>();

/** `beforeDone`: runs before the record says done (the dashboard's copy is there by then). */
async function scan(
  ctx: Ctx,
  app: string,
  image: string,
  beforeDone?: (rec: ScanRecord) => Promise<void>,
): Promise<ScanRecord> {
  const docker = ctx.docker;
  if (!docker) throw new Error("scanning needs a worker with Docker");
  const id = await imageId(docker, image);
  const key = `scan:${app}:${id}`;
  const existing = await ctx.kv.get<ScanRecord>(key);
  if (existing?.status === "done") return existing;
  const running = inFlight.get(key);
  if (running) return running;
  // Another worker is on it; a record older than that was left by a worker that stopped.
  if (existing?.status === "running" && !stale(existing)) return existing;
  const rec: ScanRecord = {
    app,
    image,
    imageId: id,
    status: "running",
    startedAt: new Date().toISOString(),
    dir: path.join(dataDir(ctx), "scan", app, id),
  };
  await ctx.kv.set(key, rec);
  const job = chain.then(async () => {
    try {
      const summary = await scanImage(
        docker,
        ctx.namespace,
        app,
        image,
        path.join(ctx.dir, "content"),
        rec.dir,
      );
      return { ...rec, status: "done" as const, summary, finishedAt: new Date().toISOString() };
    } catch (err) {
      return {
        ...rec,
        status: "error" as const,
        error: (err as Error).message,
        finishedAt: new Date().toISOString(),
      };
    }
  });
  chain = job.catch(() => {});
  const saved = job.then(async (done) => {
    await beforeDone?.(done).catch(() => {});
    await ctx.kv.set(key, done);
    return done;
  });
  inFlight.set(key, saved);
  try {
    return await saved;
  } finally {
    inFlight.delete(key);
  }
}

/** block: scan now, before any release exists; a high-severity failure vetoes the push. */
async function postBuild(args: TriggerArgs["post-build"], ctx: Ctx): Promise<undefined> {
  if ((await policyOf(ctx, args.app)) !== "block") return undefined;
  ctx.out("-----> Scanning the image (OpenSCAP, policy block)...");
  const rec = await scan(ctx, args.app, args.image);
  if (rec.status === "error") throw new Error(`the image scan failed: ${rec.error}`);
  const s = rec.summary as Summary;
  ctx.out(`       Scan: ${summaryLine(s)}`);
  if (s.highFailed.length > 0)
    throw new Error(
      `the image fails high-severity checks: ${s.highFailed.join(", ")} (scan policy block; \`paas scan:report\` after a push with policy warn shows the report)`,
    );
  return undefined;
}

/** The dashboard links reports found in <data dir>/reports/<app>/v<N>/ (src/api/dashboard/reports.ts). */
async function publish(ctx: Ctx, app: string, version: number, rec: ScanRecord): Promise<void> {
  if (rec.status !== "done") return;
  const dir = path.join(dataDir(ctx), "reports", app, `v${version}`);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.copyFile(path.join(rec.dir, "report.html"), path.join(dir, "scan.html"));
}

/** Every release points at its image's scan; warn starts one in the background if there is none. */
async function postRelease(args: TriggerArgs["post-release"], ctx: Ctx): Promise<undefined> {
  const policy = await policyOf(ctx, args.app);
  if (policy === "off" || !ctx.docker) return undefined;
  const id = await imageId(ctx.docker, args.image);
  await ctx.kv.set(`release:${args.app}:${args.version}`, id);
  const existing = await ctx.kv.get<ScanRecord>(`scan:${args.app}:${id}`);
  if (existing?.status === "done" && existing.summary) {
    ctx.out(`       Scan: ${summaryLine(existing.summary)}`);
    await publish(ctx, args.app, args.version, existing);
    return undefined;
  }
  ctx.out(
    `-----> Scanning the image in the background: \`paas scan:report v${args.version}\` shows the result`,
  );
  void scan(ctx, args.app, args.image, (rec) => publish(ctx, args.app, args.version, rec))
    // A release that joined a scan in progress publishes when it ends (publishing twice is a copy).
    .then((rec) => publish(ctx, args.app, args.version, rec))
    .catch(() => {});
  return undefined;
}

async function versionArg(req: CommandRequest, ctx: Ctx): Promise<number> {
  const raw = req.args[0];
  if (raw) {
    const m = /^v?([0-9]+)$/.exec(raw);
    if (!m)
      throw new ScanError(`"${raw.slice(0, 20)}" is not a release: use vN, e.g. v3 (see \`paas releases\`)`);
    return Number(m[1]);
  }
  const versions = Object.keys(await ctx.kv.list(`release:${req.app}:`)).map((k) =>
    Number(k.split(":").at(-1)),
  );
  if (versions.length === 0)
    throw new ScanError(
      `no scanned release of ${req.app} yet (scan policy: ${await policyOf(ctx, req.app ?? "")})`,
      404,
    );
  return Math.max(...versions);
}

async function recordFor(req: CommandRequest, ctx: Ctx): Promise<{ version: number; rec: ScanRecord }> {
  const version = await versionArg(req, ctx);
  const id = await ctx.kv.get<string>(`release:${req.app}:${version}`);
  const rec = id ? await ctx.kv.get<ScanRecord>(`scan:${req.app}:${id}`) : undefined;
  if (!rec)
    throw new ScanError(
      `no scan of ${req.app} v${version}; scans start with a release (policy warn or block)`,
      404,
    );
  return { version, rec };
}

async function report(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { version, rec } = await recordFor(req, ctx);
  if (rec.status === "running" && stale(rec))
    return {
      output: `The scan of v${version} was interrupted (its worker stopped); the next release of this image scans it again.\n`,
      data: rec,
    };
  if (rec.status === "running")
    return { output: `The scan of v${version} is still running; try again shortly.\n`, data: rec };
  if (rec.status === "error") return { output: `The scan of v${version} failed: ${rec.error}\n`, data: rec };
  const s = rec.summary as Summary;
  if (typeof req.flags.html === "string") {
    return {
      output: "",
      file: { path: path.join(rec.dir, "report.html"), name: req.flags.html, type: "text/html" },
    };
  }
  const lines = [
    `=== ${req.app} v${version} image ${rec.imageId} scanned ${rec.finishedAt}`,
    summaryLine(s),
    "",
  ];
  for (const r of s.rules) lines.push(`${r.result.padEnd(14)} ${r.severity.padEnd(7)} ${r.rule}  ${r.title}`);
  return { output: `${lines.join("\n")}\n`, data: { version, imageId: rec.imageId, ...s } };
}

async function sbom(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const { version, rec } = await recordFor(req, ctx);
  if (rec.status !== "done")
    throw new ScanError(`the scan of v${version} is ${rec.status}; no SBOM yet`, 409);
  const text = await fsp.readFile(path.join(rec.dir, "sbom.json"), "utf8");
  return { output: `${text}\n`, data: JSON.parse(text) };
}

async function set(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const [key, value] = req.args;
  if (key !== "policy")
    throw new ScanError(
      `unknown scan setting "${String(key).slice(0, 30)}": use \`paas scan:set policy off|warn|block\``,
    );
  if (!POLICIES.includes(value as Policy))
    throw new ScanError(`scan policy must be off, warn or block (got "${String(value ?? "").slice(0, 20)}")`);
  await ctx.kv.set(`policy:${req.app}`, value);
  return { output: `Scan policy of ${req.app}: ${value}\n`, data: { policy: value } };
}

async function show(req: CommandRequest, ctx: Ctx): Promise<CommandResult> {
  const policy = await policyOf(ctx, req.app ?? "");
  return { output: `Scan policy of ${req.app}: ${policy}\n`, data: { policy } };
}

export default {
  triggers: { "post-build": postBuild, "post-release": postRelease },
  commands: { scan: show, "scan:set": set, "scan:report": report, "scan:sbom": sbom },
} satisfies PluginModule;
