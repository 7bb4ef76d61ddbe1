import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// Each layer imports only the ones below it (DESIGN.md, the README's map): cli talks to the
// API over HTTP only; api and git sit over builder and runtime, which sit over store and
// docker. This walks every import in src/ (type imports too: they couple as much) and fails
// on one that goes up or sideways. A new folder must be placed in the table on purpose.

const SRC = path.resolve(import.meta.dirname, "../../src");

type Part =
  | "pure"
  | "docker"
  | "store"
  | "repos"
  | "auth"
  | "logs"
  | "plugins"
  | "runtime"
  | "router"
  | "builder"
  | "git"
  | "api"
  | "cli"
  | "server";

/** Which part a file (path under src/) belongs to: the first matching prefix wins. */
const PARTS: [string, Part][] = [
  ["server.ts", "server"],
  ["cli/", "cli"],
  ["api/", "api"],
  // Bare repositories on disk: storage, like store/ is for Redis.
  ["git/repos.ts", "repos"],
  ["git/", "git"],
  ["builder/", "builder"],
  ["runtime/", "runtime"],
  ["router/", "router"],
  // The plugin host: loads plugins, fires the trigger catalog (its catalog and manifest are pure data).
  ["plugins/", "plugins"],
  // The log line format and drain URLs are plain functions that the CLI and config share.
  ["logs/line.ts", "pure"],
  ["logs/drains/url.ts", "pure"],
  ["logs/", "logs"],
  ["auth.ts", "auth"],
  // The one authorization function is pure, so every entry point (git, SSH, api) may ask it.
  ["auth/policy.ts", "pure"],
  ["auth/", "auth"],
  ["store/", "store"],
  ["docker/", "docker"],
  // Plain data and functions, no I/O: any layer may use them.
  ["app-json/", "pure"],
  ["domains/", "pure"],
  ["errors.ts", "pure"],
  ["names.ts", "pure"],
  ["config.ts", "pure"],
  ["config-swarm.ts", "pure"],
  ["settings-doc.ts", "pure"],
  ["log.ts", "pure"],
  ["run-protocol.ts", "pure"],
];

/** What each part may import besides itself and the pure modules. */
const MAY_IMPORT: Record<Part, Part[] | "anything"> = {
  pure: [],
  docker: [],
  store: [],
  repos: [],
  auth: ["store"],
  logs: ["docker", "store"],
  plugins: ["store", "docker"],
  runtime: ["docker", "store", "logs", "plugins"],
  router: ["store", "logs"],
  builder: ["runtime", "docker", "store", "logs", "repos", "plugins"],
  git: ["builder", "repos", "store", "auth"],
  // Never docker: the API reads what runs through runtime's reader and queues every change.
  api: ["builder", "runtime", "router", "repos", "store", "logs", "auth", "plugins"],
  // HTTP only.
  cli: [],
  // The composition root wires everything together.
  server: "anything",
};

function partOf(file: string): Part | null {
  for (const [prefix, part] of PARTS) {
    if (prefix.endsWith("/") ? file.startsWith(prefix) : file === prefix) return part;
  }
  return null;
}

function allowed(from: Part, to: Part): boolean {
  const may = MAY_IMPORT[from];
  if (from === to || to === "pure") return true;
  if (from === "pure") return false;
  return may === "anything" || may.includes(to);
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.[^"']+)["']/gm;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

function edges(): { from: string; to: string }[] {
  return sourceFiles(SRC).flatMap((file) => {
    const rel = path.relative(SRC, file).split(path.sep).join("/");
    return importsOf(fs.readFileSync(file, "utf8")).map((spec) => {
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts");
      return { from: rel, to: path.relative(SRC, target).split(path.sep).join("/") };
    });
  });
}

describe("layers", () => {
  it("finds the imports it checks", () => {
    expect(importsOf('import { a } from "../store/index.js";\nexport { b } from "./b.js";')).toEqual([
      "../store/index.js",
      "./b.js",
    ]);
    expect(
      importsOf('import type { T } from "../runtime/x.js";\nconst m = await import("./lazy.js");'),
    ).toEqual(["../runtime/x.js", "./lazy.js"]);
    expect(importsOf('import "./side-effect.js";\nimport x from "express";')).toEqual(["./side-effect.js"]);
    const all = edges();
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContainEqual({ from: "api/app.ts", to: "auth.ts" });
  });

  it("the table says no to an upward import", () => {
    expect(allowed("store", "runtime")).toBe(false);
    expect(allowed("git", "api")).toBe(false);
    expect(allowed("api", "docker")).toBe(false);
    expect(allowed("cli", "store")).toBe(false);
    expect(allowed("runtime", "builder")).toBe(false);
    expect(allowed("pure", "store")).toBe(false);
    expect(allowed("builder", "runtime")).toBe(true);
    expect(allowed("cli", "pure")).toBe(true);
  });

  it("every file in src/ belongs to a layer", () => {
    const unplaced = sourceFiles(SRC)
      .map((f) => path.relative(SRC, f).split(path.sep).join("/"))
      .filter((f) => partOf(f) === null);
    expect(unplaced, "add these to PARTS in test/unit/layers.test.ts").toEqual([]);
  });

  it("each layer imports only the layers below it", () => {
    const upward = edges()
      .filter(({ from, to }) => {
        const a = partOf(from);
        const b = partOf(to);
        return a !== null && b !== null && !allowed(a, b);
      })
      .map(({ from, to }) => `${from} (${partOf(from)}) imports ${to} (${partOf(to)})`);
    expect(upward).toEqual([]);
  });
});
