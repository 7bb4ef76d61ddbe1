import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import nunjucks from "nunjucks";

// Error pages the router shows when it answers instead of an app. Templates live in
// templates/router/ at the package root; the root is found by walking up to package.json,
// which works from src/ (vitest) and from dist/ (compiled) alike. An operator can replace
// any of them: PAAS_ERROR_PAGES_DIR is searched first for `<page>.njk` (and `_layout.njk`).

export type PageStatus = 404 | 413 | 502 | 503 | 504;
/** Page names: a status, or `maintenance` (the 503 of `paas maintenance:on`). */
export type PageName = "404" | "413" | "502" | "503" | "504" | "maintenance";
export const PAGE_NAMES: readonly PageName[] = ["404", "413", "502", "503", "504", "maintenance"];

export interface PageContext {
  host: string;
  app?: string;
  domain: string;
  requestId: string;
  /** The app's body size limit, as the 413 page shows it ("100m"). */
  limit?: string;
}

export function findPackageRoot(from: string = import.meta.url): string {
  let dir = path.dirname(from.startsWith("file:") ? fileURLToPath(from) : from);
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

export class ErrorPages {
  private readonly env: nunjucks.Environment;

  /** Compiles every page up front so a broken or missing template stops start-up, not a request. */
  constructor(
    overrideDir: string | null = null,
    dir: string = path.join(findPackageRoot(), "templates", "router"),
  ) {
    const dirs = overrideDir ? [overrideDir, dir] : [dir];
    // autoescape: the Host header and app name are client-controlled and end up in HTML.
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dirs), { autoescape: true });
    for (const page of PAGE_NAMES) this.env.getTemplate(`${page}.njk`, true);
  }

  render(page: PageName, status: number, ctx: PageContext): string {
    try {
      return this.env.render(`${page}.njk`, { ...ctx, status });
    } catch {
      // A page must never turn into a crash or a hung request; plain text will do.
      return `${status} ${ctx.app ?? ctx.host}\n`;
    }
  }
}
