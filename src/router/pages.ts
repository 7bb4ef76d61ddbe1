import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import nunjucks from "nunjucks";

// Error pages the router shows when it answers instead of an app. Templates live in
// templates/router/ at the package root; the root is found by walking up to package.json,
// which works from src/ (vitest) and from dist/ (compiled) alike.

export type PageStatus = 404 | 502 | 503 | 504;
export const PAGE_STATUSES: readonly PageStatus[] = [404, 502, 503, 504];

export interface PageContext {
  host: string;
  app?: string;
  domain: string;
  requestId: string;
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
  constructor(dir: string = path.join(findPackageRoot(), "templates", "router")) {
    // autoescape: the Host header and app name are client-controlled and end up in HTML.
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
    for (const status of PAGE_STATUSES) this.env.getTemplate(`${status}.njk`, true);
  }

  render(status: PageStatus, ctx: PageContext): string {
    try {
      return this.env.render(`${status}.njk`, { ...ctx, status });
    } catch {
      // A page must never turn into a crash or a hung request; plain text will do.
      return `${status} ${ctx.app ?? ctx.host}\n`;
    }
  }
}
