import { type ChildProcess, spawn } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./platform.js";

/** One `paas server --roles worker` on the host, driving one swarm node's engine. */
export interface NodeWorker {
  child: ChildProcess;
  dir: string;
  /** What the test calls the node (its host name, or "manager"). */
  node: string;
  output(): string;
}

/**
 * The per-node workers of the multi-node swarm tests: each a worker-only `paas server` on
 * the host with DOCKER_HOST at its node's socket and a data dir of its own, as the README's
 * "A worker on every node" says to run them. stopAll() ends them (SIGTERM, then SIGKILL).
 */
export class NodeWorkers {
  readonly all: NodeWorker[] = [];

  constructor(private readonly namespace: () => string) {}

  /** Resolves once the worker printed `ready` (default: its start line). */
  async start(
    node: string,
    socket: string,
    env: Record<string, string>,
    ready = "paas is running",
  ): Promise<NodeWorker> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-node-worker-"));
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "dist/cli/main.js"), "server", "--roles", "worker"],
      {
        env: {
          ...process.env,
          ...env,
          PAAS_NAMESPACE: this.namespace(),
          PAAS_DATA_DIR: dir,
          PAAS_SSH_PORT: "off",
          DOCKER_HOST: `unix://${socket}`,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    const worker: NodeWorker = { child, dir, node, output: () => out };
    this.all.push(worker);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node worker did not start:\n${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.on("exit", (code) => reject(new Error(`node worker exited with ${code}:\n${out}`)));
    });
    return worker;
  }

  async stopAll(): Promise<void> {
    for (const { child } of this.all) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.removeAllListeners("exit");
        child.on("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
    for (const { dir } of this.all) await fsp.rm(dir, { recursive: true, force: true });
  }
}
