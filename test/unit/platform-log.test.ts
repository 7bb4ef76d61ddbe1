import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";

// The platform logger for real (pino), writing into an array instead of stderr.
function capture(min: "debug" | "info" | "warn" | "error" = "info") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(min, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { logger, lines };
}

describe("platform log levels", () => {
  it("logs at info unless the line says otherwise", () => {
    const { logger, lines } = capture();
    logger.child("build")("job succeeded", { app: "shop" });
    expect(lines).toEqual([
      expect.objectContaining({ level: "info", ns: "paas:build", msg: "job succeeded", app: "shop" }),
    ]);
  });

  it("takes a line's level from ctx.level and does not keep it as a field", () => {
    const { logger, lines } = capture();
    const log = logger.child("build");
    log("job failed", { level: "error", app: "shop", error: "boom" });
    log("redis connection lost", { level: "warn", connection: "state" });
    expect(lines.map((l) => l.level)).toEqual(["error", "warn"]);
    expect(lines[0]).toMatchObject({ msg: "job failed", app: "shop", error: "boom" });
    expect(Object.keys(lines[1] ?? {}).filter((k) => k === "level")).toHaveLength(1);
  });

  it("ignores a level that is not one, and keeps the minimum level", () => {
    const { logger, lines } = capture("warn");
    const log = logger.child("api");
    log("routine", { app: "shop" });
    log("odd", { level: "loud" });
    log("unexpected error", { level: "error", path: "/x" });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([["error", "unexpected error"]]);
  });

  it("a child made at another level logs there by default", () => {
    const { logger, lines } = capture("debug");
    logger.child("router", "debug")("GET /");
    expect(lines[0]).toMatchObject({ level: "debug", ns: "paas:router" });
  });
});
