import { describe, expect, it } from "vitest";
import { printLine, useColour } from "../../../src/cli/commands/logs.js";
import type { Cli } from "../../../src/cli/context.js";
import { bufferIo, stdio } from "../../../src/cli/output.js";
import { formatBytes, metricsCells, withMetricsColumns } from "../../../src/cli/ps-metrics.js";
import { describeScale } from "../../../src/runtime/operations.js";

const line = {
  id: "1-0",
  ts: "2026-11-27T10:00:00.123456+00:00",
  source: "app" as const,
  process: "web.1",
  message: "hi",
};

describe("paas logs output", () => {
  it("prints Heroku's form, JSON objects with --json, and colour only when asked", () => {
    expect(printLine(line, { colour: false })).toBe("2026-11-27T10:00:00.123456+00:00 app[web.1]: hi");
    expect(JSON.parse(printLine(line, { json: true, colour: false }))).toEqual({
      ts: line.ts,
      source: "app",
      process: "web.1",
      message: "hi",
    });
    expect(printLine(line, { colour: true })).toMatch(/\x1b\[\d+m/);
  });

  it("never colours a captured output or with NO_COLOR", () => {
    const cli = (io: Cli["io"], env: Record<string, string>) => ({ io, env }) as unknown as Cli;
    expect(useColour(cli(bufferIo(), {}))).toBe(false);
    expect(useColour(cli(stdio, { NO_COLOR: "1" }))).toBe(false);
  });
});

describe("ps figures", () => {
  it("formats CPU and memory used / limit", () => {
    expect(formatBytes(512 * 1024 * 1024)).toBe("512 MiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(
      metricsCells({
        cpuPercent: 1.25,
        memoryBytes: 3 * 1024 * 1024,
        memoryLimitBytes: 512 * 1024 * 1024,
      } as never),
    ).toEqual(["1.3%", "3 MiB / 512 MiB"]);
    expect(metricsCells({} as never)).toEqual(["-", "-"]);
    const [headers, rows] = withMetricsColumns([["NAME", "COMMAND"], [["web.1", "x"]]], [{} as never]);
    expect(headers).toEqual(["NAME", "CPU", "MEMORY", "COMMAND"]);
    expect(rows).toEqual([["web.1", "-", "-", "x"]]);
  });

  it("describes a scale as Heroku does", () => {
    expect(describeScale({ web: 3, worker: 1 }, { web: { memory: 512 * 1024 * 1024 } })).toBe(
      "web@3:512m worker@1",
    );
    expect(describeScale({ web: 2 }, { "*": { memory: 256 * 1024 * 1024 } })).toBe("web@2:256m");
  });
});
