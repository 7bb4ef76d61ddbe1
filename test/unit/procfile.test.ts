import { describe, expect, it } from "vitest";
import { processTypeLines } from "../../src/builder/pipeline.js";
import { parseProcfile } from "../../src/builder/procfile.js";
import { BuildFailed } from "../../src/errors.js";

function failure(text: string): BuildFailed {
  try {
    parseProcfile(text);
  } catch (err) {
    expect(err).toBeInstanceOf(BuildFailed);
    return err as BuildFailed;
  }
  throw new Error("expected parseProcfile to fail");
}

describe("parseProcfile", () => {
  it("reads one process type per line", () => {
    expect(parseProcfile("web: node server.js\nworker: node worker.js --queue=default\n")).toEqual({
      web: "node server.js",
      worker: "node worker.js --queue=default",
    });
  });

  it("skips comments and blank lines, trims, and reads CRLF files", () => {
    const text =
      "# processes\r\n\r\n  web:   bundle exec puma -p $PORT  \r\n   # worker: off\r\nclock: ./clock\r\n";
    expect(parseProcfile(text)).toEqual({ web: "bundle exec puma -p $PORT", clock: "./clock" });
  });

  it("keeps colons inside the command and lower-cases the type", () => {
    expect(parseProcfile("Web: python -m http.server --bind 0.0.0.0:$PORT")).toEqual({
      web: "python -m http.server --bind 0.0.0.0:$PORT",
    });
  });

  it("accepts an empty Procfile", () => {
    expect(parseProcfile("")).toEqual({});
    expect(parseProcfile("# nothing\n\n")).toEqual({});
  });

  it.each([
    ["web: ok\n# c\njust a command", 3],
    ["web:", 1],
    [": node x", 1],
    ["web: ok\nmy web: node x", 2],
    ["\n\nweb.1: x", 3],
  ])("fails %j as a build error naming line %i", (text, line) => {
    const err = failure(text);
    expect(err.code).toBe("build_failed");
    expect(err.message).toContain(`Procfile line ${line} is not "type: command"`);
    expect(err.message).toContain("fix the Procfile and push again");
  });

  it("quotes the bad line, cut short", () => {
    const err = failure(`${"x".repeat(200)}`);
    expect(err.message).toContain(JSON.stringify("x".repeat(80)));
    expect(err.message).not.toContain("x".repeat(81));
  });
});

describe("processTypeLines", () => {
  it("lists the process types and prints the release command apart, never as a type", () => {
    expect(
      processTypeLines({ web: "node server.js", worker: "node worker.js", release: "node migrate.js" }),
    ).toEqual(["-----> Process types: web, worker", "-----> Release command: node migrate.js"]);
    expect(processTypeLines({ web: "node server.js" })).toEqual(["-----> Process types: web"]);
  });
});
