import path from "node:path";
import type { Response } from "express";
import nunjucks from "nunjucks";
import { findPackageRoot } from "../../router/pages.js";
import type { ProcessInfo } from "../../runtime/runtime.js";

// Templates live in templates/dashboard/ at the package root, found the same way as the
// router's error pages, so it works from src/ (vitest) and dist/ (compiled) alike.

const PAGES = ["login.njk", "apps.njk", "app.njk", "config.njk", "error.njk"] as const;
export type Page = (typeof PAGES)[number];

/** What every page's layout needs; set per request in res.locals.view. */
export interface LayoutContext {
  base: string;
  user?: string;
  csrf?: string;
  notice?: string | null;
}

/** "42s", "5m", "3h 10m", "2d": coarse, like `paas ps`. */
export function since(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

/** One line per process type: "web: 2 up", "worker: 1 up, 1 crashed", "run (one-off): 1 up". */
export function processSummary(procs: ProcessInfo[]): string[] {
  const byType = new Map<string, Map<string, number>>();
  for (const p of procs) {
    const states = byType.get(p.type) ?? new Map<string, number>();
    states.set(p.state, (states.get(p.state) ?? 0) + 1);
    byType.set(p.type, states);
  }
  return [...byType.keys()].sort().map((type) => {
    const states = [...byType.get(type)!.entries()].map(([state, n]) => `${n} ${state}`);
    // One-offs (`paas run`) are not part of the formation: say so, as `heroku ps` does.
    return `${type === "run" ? "run (one-off)" : type}: ${states.join(", ")}`;
  });
}

export class Views {
  private readonly env: nunjucks.Environment;

  /** Compiles every page up front so a broken template stops start-up, not a request. */
  constructor(dir: string = path.join(findPackageRoot(), "templates", "dashboard")) {
    // autoescape: app names, config values, log lines and commit messages all end up in HTML.
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
    this.env.addFilter("since", (iso: string | null, now?: number) => since(iso, now));
    for (const page of PAGES) this.env.getTemplate(page, true);
  }

  render(res: Response, status: number, page: Page, ctx: Record<string, unknown> = {}): void {
    const layout = (res.locals.view ?? {}) as LayoutContext;
    const html = this.env.render(page, { ...layout, ...ctx, now: Date.now(), status });
    res.status(status).type("html").send(html);
  }
}
