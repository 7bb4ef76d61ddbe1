import type { BuildQueue } from "../builder/queue.js";
import type { stackInfo } from "../builder/stack.js";
import type { Settings } from "../config.js";
import type { Repos } from "../git/repos.js";
import type { EventSink } from "../logs/writer.js";
import type { PluginHost } from "../plugins/host.js";
import type { OneOffRunner } from "../runtime/run-relay/runner.js";
import type { ProcessInfo } from "../runtime/runtime.js";
import type { Store } from "../store/index.js";

/** What the API's handlers may use, composed once at start-up. */
export interface Services {
  settings: Settings;
  store: Store;
  /** Reads and streams of what runs; every change to it goes through `queue` (see operations.ts). */
  reader: RuntimeReader;
  queue: BuildQueue;
  repos: Repos;
  /** `paas run`: containers on this engine (docker scheduler) or relayed through a node's worker (swarm). */
  runner: OneOffRunner;
  log: (msg: string, ctx?: Record<string, unknown>) => void;
  /** `paas[api]` lines in the app's log stream (logs/). */
  events?: EventSink;
  /** Plugins as the API sees them (no Docker): management, command list, API-side commands. */
  plugins?: PluginHost;
}

/**
 * The one door through which the API reads what runs (it never changes it: that is a
 * worker's job). Today the Runtime on this host answers; with several hosts, the host
 * that has the container will.
 */
export interface RuntimeReader {
  ps(app: string): Promise<ProcessInfo[]>;
  logs(app: string, lines: number): Promise<string[]>;
  follow(app: string, onLine: (line: string) => void): Promise<() => void>;
  /** What the stack images hold (`paas stack`). */
  stack(): ReturnType<typeof stackInfo>;
}
