import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { BuildQueue } from "../../src/builder/queue.js";
import { logConnection } from "../../src/store/connection-log.js";
import { storeOver } from "../../src/store/index.js";

// A lost Redis connection is visible in the platform log, once, and so is its return. The
// test runs a redis-server of its own on its own port and stops and starts it.

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function until(check: () => boolean, what: string, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not seen: ${what}`);
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  child.removeAllListeners("exit");
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("redis connection trouble in the platform log", () => {
  let server: ChildProcess | null = null;
  const clients: Redis[] = [];
  let queue: BuildQueue | null = null;

  afterAll(async () => {
    await queue?.close().catch(() => {});
    for (const c of clients) c.disconnect();
    if (server) await stopRedis(server);
  });

  it("logs the loss once (not once per reconnect attempt), and the return", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    server = await startRedis(port);
    const lines: { msg: string; ctx?: Record<string, unknown> }[] = [];
    const log = (msg: string, ctx?: Record<string, unknown>) => lines.push({ msg, ctx });

    const state = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    clients.push(state);
    logConnection(state, log, "state");
    // The queue's own connection reports under its name too.
    queue = new BuildQueue(storeOver(state, "tconn"), url, log);
    await state.ping();

    await stopRedis(server);
    await until(
      () => lines.some((l) => l.msg === "redis connection lost" && l.ctx?.connection === "state"),
      "state lost",
    );
    await until(
      () => lines.some((l) => l.msg === "redis connection lost" && l.ctx?.connection === "queue"),
      "queue lost",
    );
    // Several reconnect attempts later, still one "lost" line per connection.
    await new Promise((r) => setTimeout(r, 600));
    expect(
      lines.filter((l) => l.msg === "redis connection lost" && l.ctx?.connection === "state"),
    ).toHaveLength(1);
    expect(lines.find((l) => l.ctx?.connection === "state")?.ctx?.error).toMatch(/ECONNREFUSED|closed/);

    server = await startRedis(port);
    await until(
      () => lines.some((l) => l.msg === "redis connection restored" && l.ctx?.connection === "state"),
      "state restored",
    );
    expect(await state.ping()).toBe("PONG");
  });
});
