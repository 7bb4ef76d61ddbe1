import type { Store } from "../../store/index.js";
import { RunRelayStore } from "../../store/run-relay.js";
import type { ProcessInfo } from "../runtime.js";

/**
 * Swarm: the app's one-offs running on any node, as each node's worker publishes them
 * (node-worker.ts), as `paas ps` lines with their node.
 */
export async function relayedOneOffs(store: Store, app: string): Promise<ProcessInfo[]> {
  const relay = new RunRelayStore(store.redis, store.keys);
  const nodes = (await relay.workers()).map((w) => w.node);
  return (await relay.oneOffs(app, nodes)).map((o) => {
    const dot = o.name.lastIndexOf(".");
    return {
      name: o.name,
      type: o.name.slice(0, dot),
      index: Number(o.name.slice(dot + 1)) || 0,
      state: "up" as const,
      release: o.release,
      command: o.command,
      startedAt: o.startedAt,
      restarts: 0,
      port: null,
      container: o.container,
      node: o.node,
    };
  });
}
