import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeployFailed } from "../../src/errors.js";
import { PluginHost, PluginVeto } from "../../src/plugins/host.js";
import { type Store, storeOver } from "../../src/store/index.js";

// The plugin host on the real Redis with real plugin folders: executables (sh) and a JS
// module, vetoes, a hanging trigger stopped by the timeout, failures reported or fatal by the
// catalog's rule, enable/disable, and a plugin's key-value state.

const REDIS_URL = process.env.PAAS_REDIS_URL || "redis://127.0.0.1:6379";
const NS = `test-plugins-${randomBytes(4).toString("hex")}`;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "paas-plugin-root-"));

function plugin(name: string, manifest: Record<string, unknown>, files: Record<string, string>): void {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "plugin.json"), JSON.stringify({ name, version: "1.0.0", ...manifest }));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text, { mode: 0o755 });
  }
}

plugin(
  "freezer",
  { triggers: ["pre-deploy"] },
  { "triggers/pre-deploy": '#!/bin/sh\ngrep -q FREEZE && { echo "frozen: $1 v$2" >&2; exit 1; }\nexit 0\n' },
);
plugin(
  "sleeper",
  { triggers: ["post-deploy", "pre-build"] },
  {
    "triggers/post-deploy": "#!/bin/sh\nsleep 30\n",
    "triggers/pre-build": "#!/bin/sh\nsleep 30\n",
  },
);
plugin(
  "envmod",
  {
    module: "index.mjs",
    triggers: ["container-env", "post-release"],
    settings: [{ name: "ENVMOD_VALUE", default: "d" }],
  },
  {
    "index.mjs": `export default {
  triggers: {
    "container-env": async (args, ctx) => {
      await ctx.kv.set("seen", args.app);
      return { env: { FROM_PLUGIN: ctx.settings.ENVMOD_VALUE + ":" + args.type } };
    },
    "post-release": () => { throw new Error("post-release broke"); },
  },
};
`,
  },
);
plugin("badenv", { triggers: ["container-env"] }, { "triggers/container-env": "#!/bin/sh\necho not json\n" });

describe("plugin host", () => {
  let redis: Redis;
  let store: Store;
  let host: PluginHost;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    store = storeOver(redis, NS);
    host = new PluginHost({
      store,
      namespace: NS,
      roots: [{ dir: root, bundled: true }],
      timeoutMs: 400,
      env: { PATH: process.env.PATH, ENVMOD_VALUE: "x" },
    });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${NS}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("finds the plugins of a root, enabled, and checks each like an install does", async () => {
    const list = await host.list();
    expect(list.map((p) => [p.manifest.name, p.enabled, p.bundled])).toEqual([
      ["badenv", true, true],
      ["envmod", true, true],
      ["freezer", true, true],
      ["sleeper", true, true],
    ]);
    for (const p of list) await expect(host.check(p.dir, { dir: root, bundled: true })).resolves.toBeTruthy();
  });

  it("a veto stops the operation with the plugin's message", async () => {
    const args = { app: "shop", version: 4, image: "img", config: { FREEZE: "1" } };
    const err = await host.fire("pre-deploy", args).catch((e) => e);
    expect(err).toBeInstanceOf(PluginVeto);
    expect(err).toBeInstanceOf(DeployFailed);
    expect(err.message).toBe("pre-deploy vetoed by plugin freezer: frozen: shop v4");
    await expect(host.fire("pre-deploy", { ...args, config: {} })).resolves.toEqual([]);
  });

  it("a hanging veto-able trigger is stopped at the timeout and vetoes with a clear message", async () => {
    const err = await host.fire("pre-build", { app: "shop", buildId: "b1", commit: "abc" }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginVeto);
    expect(err.message).toBe(
      "pre-build vetoed by plugin sleeper: plugin sleeper trigger pre-build did not finish within 0.4s (PAAS_PLUGIN_TIMEOUT) and was stopped",
    );
  });

  it("a failing or hanging post-* trigger is reported and changes nothing", async () => {
    const lines: string[] = [];
    await host.fire("post-deploy", { app: "shop", version: 4, image: "img", formation: { web: 1 } }, (l) =>
      lines.push(l),
    );
    await host.fire("post-release", { app: "shop", version: 4, image: "img" }, (l) => lines.push(l));
    expect(lines).toEqual([
      "plugin sleeper failed in post-deploy: plugin sleeper trigger post-deploy did not finish within 0.4s (PAAS_PLUGIN_TIMEOUT) and was stopped",
      "plugin envmod failed in post-release: post-release broke",
    ]);
  });

  it("container-env answers come back per plugin; a bad answer fails the deploy; disabled plugins are skipped", async () => {
    const args = { app: "shop", type: "web", index: 1, kind: "process" as const, version: 4 };
    const bad = await host.fire("container-env", args).catch((e) => e);
    expect(bad).toBeInstanceOf(DeployFailed);
    expect(bad.message).toContain("plugin badenv failed in container-env: its output is not JSON (not json)");
    await store.plugins.setEnabled("badenv", false);
    const answers = await host.fire("container-env", args);
    expect(answers).toEqual([{ plugin: "envmod", result: { env: { FROM_PLUGIN: "x:web" } } }]);
    expect(await store.plugins.dataGet("envmod", "seen")).toBe("shop");
    expect((await host.list()).find((p) => p.manifest.name === "badenv")?.enabled).toBe(false);
  });
});
