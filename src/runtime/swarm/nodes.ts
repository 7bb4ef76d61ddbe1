import type { NodeInfo, Services } from "../../docker/services.js";
import { invalid, notFound } from "../../errors.js";

/** What `paas nodes` and its friends ask of a manager node (through the queue, in a worker). */
export type ClusterOp =
  | { action: "list" }
  | { action: "join-command" }
  | { action: "drain" | "activate"; node: string };

export interface NodeRow {
  id: string;
  hostname: string;
  role: string;
  state: string;
  availability: string;
  address: string;
  labels: Record<string, string>;
  leader: boolean;
  /** Tasks meant to run there (every service's, not only the platform's). */
  tasks: number;
}

/** Node label set while the platform takes a node's tasks out of the routes before draining it. */
export const DRAINING_LABEL = "paas.draining";

/** Nodes whose tasks may serve: ready, active, and not being drained. */
export function servingNodes(nodes: NodeInfo[]): Set<string> {
  return new Set(
    nodes
      .filter(
        (n) => n.state === "ready" && n.availability === "active" && n.labels[DRAINING_LABEL] !== "true",
      )
      .map((n) => n.id),
  );
}

/** One placement constraint as Swarm takes it: node.labels.zone==a, node.role!=manager, ... */
export function parseConstraint(raw: string): string {
  const c = raw.trim();
  if (
    !/^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9_.-]+)|engine\.labels\.[A-Za-z0-9_.-]+)\s*(==|!=)\s*[^\s=!]+$/.test(
      c,
    )
  ) {
    throw invalid(
      `"${raw}" is not a placement constraint: use node.labels.KEY==VALUE, node.hostname==NAME or node.role==manager|worker (== or !=)`,
    );
  }
  return c.replace(/\s+/g, "");
}

/**
 * `beforeDrain` runs after the node is marked draining and before Swarm moves its tasks: the
 * routes drop that node's tasks and their requests finish, so a drain fails no request.
 */
export async function runClusterOp(
  services: Services,
  op: ClusterOp,
  beforeDrain: () => Promise<void> = async () => {},
): Promise<unknown> {
  switch (op.action) {
    case "list": {
      const [nodes, tasks] = await Promise.all([
        services.nodes(),
        services.tasks({ "desired-state": ["running"] }),
      ]);
      const count = new Map<string, number>();
      for (const t of tasks) count.set(t.nodeId, (count.get(t.nodeId) ?? 0) + 1);
      return nodes
        .map((n): NodeRow => ({ ...n, tasks: count.get(n.id) ?? 0 }))
        .sort((a, b) => a.hostname.localeCompare(b.hostname));
    }
    case "join-command":
      return { worker: await services.joinCommand("worker"), manager: await services.joinCommand("manager") };
    case "drain":
    case "activate": {
      const nodes = await services.nodes();
      const node = nodes.find((n) => n.id === op.node || n.hostname === op.node || n.id.startsWith(op.node));
      if (!node) {
        throw notFound(
          `no node "${op.node}" in the swarm; see paas nodes (${nodes.map((n) => n.hostname).join(", ")})`,
        );
      }
      if (op.action === "drain") {
        await services.updateNode(node.id, { labels: { [DRAINING_LABEL]: "true" } });
        await beforeDrain();
        await services.updateNode(node.id, { availability: "drain", labels: { [DRAINING_LABEL]: null } });
      } else {
        await services.updateNode(node.id, { availability: "active", labels: { [DRAINING_LABEL]: null } });
      }
      return { node: node.hostname, availability: op.action === "drain" ? "drain" : "active" };
    }
  }
}
