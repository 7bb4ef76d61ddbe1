import { describe, expect, it } from "vitest";
import { parseAppJson } from "../../src/app-json/app-json.js";
import { checksOfType, parseCheckType } from "../../src/app-json/checks.js";
import { lineColumn, parseJsonc } from "../../src/app-json/jsonc.js";

// app.json as Dokku reads it: JSONC, scripts.dokku, formation, healthcheck types.

describe("app.json with comments (JSONC)", () => {
  it("accepts // and /* */ comments and trailing commas", () => {
    const a = parseAppJson(`{
      // the formation
      "formation": { "web": { "quantity": 2, }, },
      /* checks */
      "healthchecks": { "web": [ { "path": "/", }, ], },
    }`);
    expect(a.formation).toEqual({ web: { quantity: 2 } });
    expect(a.healthchecks.web[0].path).toBe("/");
  });

  it("names the line and column of a syntax error", () => {
    expect(() => parseAppJson('{\n  "scripts": {\n    "dokku" {}\n  }\n}')).toThrow(
      /^app\.json line 3, column 13: a ":" was expected; fix it and push again$/,
    );
    expect(() => parseAppJson('{\n  "a": 1\n  "b": 2\n}')).toThrow(
      /app\.json line 3, column 3: a "," was expected/,
    );
    expect(() => parseAppJson("{\n  /* open")).toThrow(
      /app\.json line 2, column 3: a \/\* comment is not closed/,
    );
    expect(() => parseAppJson("")).toThrow(/app\.json/);
    expect(() => parseAppJson("[1]")).toThrow("app.json must hold a JSON object");
  });

  it("counts lines and columns from 1", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(parseJsonc("{} }", "f.json")).toEqual({
      ok: false,
      error: "f.json line 1, column 4: text after the end of the document",
    });
  });
});

describe("app.json scripts", () => {
  it("reads scripts.dokku.predeploy/postdeploy and Heroku's once-only scripts.postdeploy", () => {
    const a = parseAppJson(
      JSON.stringify({
        scripts: { dokku: { predeploy: "touch /x", postdeploy: "echo done" }, postdeploy: "seed" },
      }),
    );
    expect(a.scripts).toEqual({ predeploy: "touch /x", postdeploy: "echo done", postdeployOnce: "seed" });
  });

  it("takes scripts.predeploy as the predeploy when scripts.dokku has none", () => {
    expect(parseAppJson(JSON.stringify({ scripts: { predeploy: "a" } })).scripts).toEqual({ predeploy: "a" });
    expect(
      parseAppJson(JSON.stringify({ scripts: { predeploy: "a", dokku: { predeploy: "b" } } })).scripts
        .predeploy,
    ).toBe("b");
  });

  it("rejects scripts that are not command strings", () => {
    expect(() => parseAppJson(JSON.stringify({ scripts: { dokku: { predeploy: 1 } } }))).toThrow(
      "app.json: scripts.dokku.predeploy must be a command string",
    );
    expect(() => parseAppJson(JSON.stringify({ scripts: { dokku: "x" } }))).toThrow(
      /scripts.dokku must be an object/,
    );
  });
});

describe("app.json formation", () => {
  it("reads quantity and max_parallel; size is ignored with a warning", () => {
    const a = parseAppJson(
      JSON.stringify({
        formation: { web: { quantity: 0 }, worker: { quantity: 1, size: "standard-2x", max_parallel: 2 } },
      }),
    );
    expect(a.formation).toEqual({ web: { quantity: 0 }, worker: { quantity: 1, maxParallel: 2 } });
    expect(a.warnings?.[0]).toContain('formation.worker.size ("standard-2x") is ignored');
    expect(a.warnings?.[0]).toContain("paas resources:set");
  });

  it("rejects a bad quantity with the field's name", () => {
    expect(() => parseAppJson(JSON.stringify({ formation: { web: { quantity: -1 } } }))).toThrow(
      "app.json: formation.web.quantity must be a whole number from 0 to 20",
    );
    expect(() => parseAppJson(JSON.stringify({ formation: { web: 1 } }))).toThrow(
      /formation.web must be an object/,
    );
  });

  it("ignores formation.release: release is not a process type", () => {
    const a = parseAppJson(JSON.stringify({ formation: { release: { quantity: 1 } } }));
    expect(a.formation).toEqual({});
    expect(a.warnings?.[0]).toContain("release is a one-off command");
  });
});

describe("healthcheck types", () => {
  it("startup by default; liveness and readiness accepted; anything else rejected", () => {
    expect(parseCheckType(undefined, "x")).toBe("startup");
    expect(parseCheckType("Liveness", "x")).toBe("liveness");
    expect(parseCheckType("readiness", "x")).toBe("readiness");
    expect(() => parseCheckType("sometimes", "healthchecks.web[0]")).toThrow(
      'app.json: healthchecks.web[0].type "sometimes" is not a check type: use startup, liveness or readiness',
    );
  });

  it("keeps each check's type, and selects checks by type", () => {
    const a = parseAppJson(
      JSON.stringify({
        healthchecks: {
          web: [
            { path: "/ready" },
            { type: "liveness", path: "/alive", attempts: 2, wait: 1 },
            { type: "readiness", path: "/ready", initialDelay: 3 },
          ],
        },
      }),
    );
    expect(a.healthchecks.web.map((c) => c.type)).toEqual(["startup", "liveness", "readiness"]);
    expect(checksOfType(a.healthchecks, "web", "startup").map((c) => c.path)).toEqual(["/ready"]);
    expect(checksOfType(a.healthchecks, "web", "liveness")[0]).toMatchObject({
      path: "/alive",
      attempts: 2,
      wait: 1,
    });
    expect(checksOfType(a.healthchecks, "web", "readiness")[0]).toMatchObject({ initialDelay: 3, wait: 5 });
    expect(checksOfType(a.healthchecks, "worker", "liveness")).toEqual([]);
  });
});
