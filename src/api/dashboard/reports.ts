import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import express from "express";
import { notFound } from "../../errors.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

// Per-release reports that plugins publish for the dashboard (the image scan's HTML report):
// a plugin writes `$PAAS_DATA_DIR/reports/<app>/v<N>/<name>.html`, the app page links each one
// on its release's row, and this route serves it, sandboxed. Core knows no plugin: only the
// folder convention.

const REPORT = /^[a-z0-9][a-z0-9-]{0,39}\.html$/;

function reportsDir(dataDir: string, app: string, version: number): string {
  return path.join(dataDir, "reports", app, `v${version}`);
}

/** The reports of each release shown (by version): their names without `.html`. */
export async function releaseReports(
  dataDir: string,
  app: string,
  versions: number[],
): Promise<Record<number, string[]>> {
  const out: Record<number, string[]> = {};
  for (const v of versions) {
    const dir = reportsDir(dataDir, app, v);
    if (!fs.existsSync(dir)) continue;
    const names = (await fsp.readdir(dir).catch(() => [])).filter((n) => REPORT.test(n)).sort();
    if (names.length) out[v] = names.map((n) => n.replace(/\.html$/, ""));
  }
  return out;
}

export function dashboardReports(s: Services): express.Router {
  const r = express.Router();
  r.get(
    "/apps/:app/reports/:version/:report",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const version = /^v([0-9]{1,9})$/.exec(String(req.params.version))?.[1];
      const file = `${String(req.params.report)}.html`;
      if (!version || !REPORT.test(file)) throw notFound("no such report");
      const full = path.join(reportsDir(s.settings.dataDir, name, Number(version)), file);
      const text = await fsp.readFile(full, "utf8").catch(() => null);
      if (text === null) throw notFound(`no ${req.params.report} report for ${name} v${version}`);
      // A plugin's HTML: shown, never run (no scripts, no forms, its own origin).
      res.setHeader(
        "Content-Security-Policy",
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      );
      res.type("html").send(text);
    }),
  );
  return r;
}
