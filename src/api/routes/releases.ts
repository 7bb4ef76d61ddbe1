import express, { type Response } from "express";
import { invalid, notFound } from "../../errors.js";
import type { Release } from "../../store/releases.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { rollbackApp } from "../operations.js";
import type { Services } from "../services.js";

function parseVersion(raw: unknown): number {
  const m = typeof raw === "string" ? /^v?(\d+)$/.exec(raw) : null;
  if (!m) throw invalid(`"${String(raw)}" is not a release version: use v3 or 3`);
  return Number(m[1]);
}

function view(r: Release, current: number) {
  return {
    version: `v${r.version}`,
    description: r.description,
    status: r.status,
    createdAt: r.createdAt,
    user: r.user,
    image: r.image,
    commit: r.commit,
    current: r.version === current,
  };
}

export function releaseRoutes(s: Services): express.Router {
  const r = express.Router();

  async function find(res: Response, raw: string): Promise<{ release: Release; current: number }> {
    const { name, record: rec } = appOf(res);
    const version = raw === "current" ? rec.release : parseVersion(raw);
    const release = version ? await s.store.releases.get(name, version) : null;
    if (!release) {
      throw notFound(
        raw === "current"
          ? `${name} has no releases yet`
          : `release v${version} of ${name} not found; see \`paas releases\``,
      );
    }
    return { release, current: rec.release };
  }

  r.get(
    "/apps/:app/releases",
    handle(async (req, res) => {
      const { name, record: rec } = appOf(res);
      const num = req.query.num === undefined ? 15 : Number(req.query.num);
      if (!Number.isInteger(num) || num < 1) throw invalid("--num must be a whole number of 1 or more");
      res.json((await s.store.releases.list(name)).slice(0, num).map((x) => view(x, rec.release)));
    }),
  );

  r.get(
    "/apps/:app/releases/:version",
    handle(async (req, res) => {
      const { release, current } = await find(res, String(req.params.version));
      res.json({
        ...view(release, current),
        // Values are secrets; the release view names the keys only.
        configKeys: Object.keys(release.config).sort(),
        formation: release.formation ?? {},
        processTypes: release.processTypes,
      });
    }),
  );

  r.get(
    "/apps/:app/releases/:version/output",
    handle(async (req, res) => {
      const { release } = await find(res, String(req.params.version));
      const lines = release.buildId ? await s.store.builds.lines(release.buildId) : [];
      if (lines.length === 0)
        throw notFound(`release v${release.version} has no recorded output (it may have expired)`);
      res.type("text/plain").send(`${lines.join("\n")}\n`);
    }),
  );

  r.post(
    "/apps/:app/releases/rollback",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = (req.body ?? {}) as { version?: unknown };
      const target =
        body.version === undefined || body.version === null ? null : parseVersion(String(body.version));
      await rollbackApp(s, name, target, String(res.locals.user ?? ""));
      const rec = await s.store.apps.require(name);
      const live = await s.store.releases.get(name, rec.release);
      res.json({
        version: `v${rec.release}`,
        rolledBackTo: live?.description.replace(/^Rollback to /, "") ?? null,
      });
    }),
  );

  return r;
}
