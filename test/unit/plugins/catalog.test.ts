import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOG_BEGIN, CATALOG_END, catalogMarkdown, TRIGGERS } from "../../../src/plugins/catalog.js";

const README = path.resolve(import.meta.dirname, "../../../README.md");

describe("trigger catalog", () => {
  it("has the triggers the platform promises, each documented", () => {
    const names = TRIGGERS.map((t) => t.name);
    for (const n of [
      "app-create",
      "app-destroy",
      "pre-build",
      "post-build",
      "pre-release",
      "post-release",
      "pre-deploy",
      "post-deploy",
      "config-change",
      "scale",
      "container-env",
      "ps-report",
    ]) {
      expect(names).toContain(n);
    }
    expect(new Set(names).size).toBe(names.length);
    for (const t of TRIGGERS) expect(t.description.length).toBeGreaterThan(10);
    expect(TRIGGERS.filter((t) => t.veto).map((t) => t.name)).toEqual([
      "pre-build",
      "post-build",
      "pre-release",
      "pre-deploy",
    ]);
  });

  it("the README's catalog section is the generated one (run `npm run docs:triggers`)", () => {
    const text = fs.readFileSync(README, "utf8");
    const start = text.indexOf(CATALOG_BEGIN);
    const end = text.indexOf(CATALOG_END);
    expect(start, "README.md needs the trigger catalog markers").toBeGreaterThanOrEqual(0);
    expect(text.slice(start, end + CATALOG_END.length)).toBe(catalogMarkdown());
  });

  it("one table row per trigger", () => {
    const rows = catalogMarkdown()
      .split("\n")
      .filter((l) => l.startsWith("| `"));
    expect(rows).toHaveLength(TRIGGERS.length);
    expect(rows.find((r) => r.includes("`pre-deploy`"))).toContain("| yes |");
  });
});
