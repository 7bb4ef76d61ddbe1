import { describe, expect, it } from "vitest";
import { parseErrorBody } from "../../src/cli/client.js";
import { formatAppInfo } from "../../src/cli/commands/apps.js";
import { formatConfig } from "../../src/cli/commands/config.js";
import {
  formatAgo,
  formatPairs,
  formatSince,
  formatTable,
  formatUptime,
  shellQuote,
} from "../../src/cli/output.js";
import { formatError } from "../../src/cli/program.js";
import { PaasError } from "../../src/errors.js";

describe("formatTable", () => {
  it("pads every column but the last and leaves no trailing spaces", () => {
    expect(
      formatTable(
        ["NAME", "STATE", "COMMAND"],
        [
          ["web.1", "up", "npm start"],
          ["worker.10", "crashed", ""],
        ],
      ),
    ).toEqual(["NAME       STATE    COMMAND", "web.1      up       npm start", "worker.10  crashed"]);
  });

  it("prints only the header for no rows", () => {
    expect(formatTable(["A", "B"], [])).toEqual(["A  B"]);
  });
});

describe("formatPairs", () => {
  it("aligns values after the labels", () => {
    expect(
      formatPairs([
        ["A", "1"],
        ["LONGER", "two"],
        ["EMPTY", ""],
      ]),
    ).toEqual(["A:      1", "LONGER: two", "EMPTY:"]);
  });
});

describe("formatConfig", () => {
  it("sorts keys and quotes values for shells", () => {
    const vars = { B: "it's", A: "x y" };
    expect(formatConfig(vars, "shell")).toEqual(["A='x y'", "B='it'\\''s'"]);
    expect(formatConfig(vars, "pairs")).toEqual(["A: x y", "B: it's"]);
  });

  it("quotes so a shell reads the value back unchanged", () => {
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("$HOME `x` \\")).toBe("'$HOME `x` \\'");
  });
});

describe("formatSince", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  it.each([
    ["2024-05-01T11:59:55Z", "5s ago"],
    ["2024-05-01T11:57:00Z", "3m ago"],
    ["2024-05-01T07:00:00Z", "5h ago"],
    ["2024-04-25T12:00:00Z", "6d ago"],
    ["2024-05-01T12:00:10Z", "0s ago"],
    [null, "-"],
    ["not a date", "-"],
  ])("%s -> %s", (time, expected) => {
    expect(formatSince(time, now)).toBe(expected);
  });
});

describe("formatAgo", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  it.each([
    ["2024-05-01T11:59:55Z", "just now"],
    ["2024-05-01T12:00:30Z", "just now"],
    ["2024-05-01T11:59:30Z", "30 seconds ago"],
    ["2024-05-01T11:59:00Z", "1 minute ago"],
    ["2024-05-01T11:57:00Z", "3 minutes ago"],
    ["2024-05-01T11:00:00Z", "1 hour ago"],
    ["2024-04-30T00:00:00Z", "36 hours ago"],
    ["2024-04-29T12:00:00Z", "2 days ago"],
    [null, "-"],
    ["not a date", "-"],
  ])("%s -> %s", (time, expected) => {
    expect(formatAgo(time, now)).toBe(expected);
  });
});

describe("formatUptime", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  it.each([
    ["2024-05-01T12:00:00Z", "0s"],
    ["2024-05-01T11:59:15Z", "45s"],
    ["2024-05-01T11:57:57Z", "2m 3s"],
    ["2024-05-01T11:58:00Z", "2m 0s"],
    ["2024-05-01T10:55:00Z", "1h 5m"],
    ["2024-04-28T08:00:00Z", "3d 4h"],
    [null, "-"],
    ["soon", "-"],
  ])("%s -> %s", (time, expected) => {
    expect(formatUptime(time, now)).toBe(expected);
  });
});

describe("formatAppInfo", () => {
  it("shows URLs, release and a process table under === headings", () => {
    const lines = formatAppInfo(
      {
        name: "shop",
        url: "http://shop.localhost",
        gitUrl: "http://127.0.0.1:5100/git/shop.git",
        createdAt: "2024-05-01T10:00:00Z",
        release: { version: "v3", description: "Deploy 1a2b3c4", createdAt: "2024-05-01T11:00:00Z" },
        processes: [
          {
            name: "web.1",
            type: "web",
            state: "up",
            release: "v3",
            command: "npm start",
            startedAt: "2024-05-01T11:58:00Z",
            restarts: 0,
            port: 5000,
          },
        ],
      },
      new Date("2024-05-01T12:00:00Z"),
    );
    expect(lines).toEqual([
      "=== shop",
      "Web URL:  http://shop.localhost",
      "Git URL:  http://127.0.0.1:5100/git/shop.git",
      "Release:  v3: Deploy 1a2b3c4",
      "Deployed: 2024-05-01T11:00:00Z (1h ago)",
      "Created:  2024-05-01T10:00:00Z",
      "",
      "=== Processes",
      "NAME   STATE  UPTIME  RELEASE  RESTARTS  COMMAND",
      "web.1  up     2m 0s   v3       0         npm start",
    ]);
  });

  it("says how to deploy when there is no release", () => {
    const lines = formatAppInfo(
      { name: "new", url: "u", gitUrl: "g", createdAt: "c", release: null, processes: [] },
      new Date(),
    );
    expect(lines).toContain("Release: none yet (deploy with: git push paas main)");
  });
});

describe("formatError", () => {
  it("prints one line plus indented details, without a stack", () => {
    const err = new PaasError("build_failed", "build of v2 failed", ["step 3 failed", "exit code 1"]);
    expect(formatError(err, false)).toEqual([
      "error: build of v2 failed",
      "  step 3 failed",
      "  exit code 1",
    ]);
  });

  it("adds the stack with --verbose", () => {
    const lines = formatError(new Error("boom"), true);
    expect(lines[0]).toBe("error: boom");
    expect(lines[1]).toMatch(/^Error: boom\n\s+at /);
  });

  it("keeps the indented lines of a message that lists several problems", () => {
    expect(formatError(new Error("bad settings:\n  A is bad\n  B is bad"), false)).toEqual([
      "error: bad settings:\n  A is bad\n  B is bad",
    ]);
  });
});

describe("parseErrorBody", () => {
  it("reads the API's error envelope", () => {
    expect(parseErrorBody('{"error":{"code":"not_found","message":"no app x","details":["a"]}}')).toEqual({
      code: "not_found",
      message: "no app x",
      details: ["a"],
    });
  });

  it("returns null for anything else", () => {
    expect(parseErrorBody("<html>Bad Gateway</html>")).toBeNull();
    expect(parseErrorBody('{"message":"x"}')).toBeNull();
    expect(parseErrorBody("null")).toBeNull();
  });
});
