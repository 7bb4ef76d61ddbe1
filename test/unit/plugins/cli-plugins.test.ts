import { Command } from "commander";
import { describe, expect, it } from "vitest";
import {
  type PluginCommand,
  registerPluginCommands,
  wantsPluginCommands,
  withReportColumns,
} from "../../../src/cli/commands/plugins.js";
import type { Cli } from "../../../src/cli/context.js";
import { bufferIo } from "../../../src/cli/output.js";

// The CLI side of plugin commands: when to ask the API for them, how they parse, and what
// ps-report adds to `paas ps`. Requests go to a recording fetch (no plugin code runs here).

function program(): Command {
  const p = new Command("paas").exitOverride();
  p.command("ps");
  p.command("apps:create");
  return p;
}

const argv = (...words: string[]) => ["node", "paas", ...words];

describe("plugin commands in the CLI", () => {
  it("asks the API only for unknown commands and for the full help", () => {
    const p = program();
    expect(wantsPluginCommands(p, argv("ps"))).toBe(false);
    expect(wantsPluginCommands(p, argv("--verbose", "ps", "-a", "shop"))).toBe(false);
    expect(wantsPluginCommands(p, argv("storage:mount", "data:/data"))).toBe(true);
    expect(wantsPluginCommands(p, argv("help"))).toBe(true);
    expect(wantsPluginCommands(p, argv("--help"))).toBe(true);
    expect(wantsPluginCommands(p, argv())).toBe(true);
  });

  it("parses a plugin command from its manifest and posts it to the API", async () => {
    const sent: { url: string; body: unknown }[] = [];
    const io = bufferIo();
    const cli: Cli = {
      io,
      env: { PAAS_API_URL: "http://127.0.0.1:9", PAAS_API_TOKEN: "t".repeat(40) },
      home: "/nonexistent",
      cwd: "/nonexistent",
      git: { remoteUrl: async () => null } as unknown as Cli["git"],
      now: () => new Date(0),
      fetch: async (input, init) => {
        sent.push({ url: String(input), body: JSON.parse(String(init?.body ?? "null")) });
        return new Response(JSON.stringify({ output: "Mounted\n", data: { ok: true } }), {
          status: 200,
          headers: { "content-type": "application/json" },
        });
      },
    };
    const spec: PluginCommand = {
      plugin: "storage",
      name: "storage:mount",
      description: "mount",
      args: [{ name: "MOUNT", description: "", optional: false, variadic: false }],
      flags: [{ name: "type", description: "", value: true }],
      app: "required",
      admin: false,
    };
    const p = program();
    registerPluginCommands(p, cli, [spec, { ...spec, name: "ps", plugin: "shadow" }]);
    expect(p.commands.filter((c) => c.name() === "ps")).toHaveLength(1);
    await p.parseAsync(argv("storage:mount", "data:/data", "--type", "web", "-a", "shop"));
    expect(sent).toEqual([
      {
        url: "http://127.0.0.1:9/api/v1/plugins/storage/commands/storage%3Amount",
        body: { app: "shop", args: ["data:/data"], flags: { type: "web" } },
      },
    ]);
    expect(io.stdout()).toBe("Mounted\n");
  });

  it("adds ps-report columns by process name, and nothing when there are none", () => {
    const table: [string[], string[][]] = [
      ["NAME", "STATE"],
      [
        ["web.1", "up"],
        ["worker.1", "up"],
      ],
    ];
    expect(withReportColumns(table, { columns: {}, lines: [] })).toEqual(table);
    expect(withReportColumns(table, { columns: { "web.1": { volume: "data" } }, lines: [] })).toEqual([
      ["NAME", "STATE", "VOLUME"],
      [
        ["web.1", "up", "data"],
        ["worker.1", "up", ""],
      ],
    ]);
  });
});
