import { invalid, PaasError } from "../../errors.js";
import { type RunNode, WORKER_LIVE_MS, type WorkerBeat } from "../../store/run-relay.js";
import { DRAINING_LABEL } from "../swarm/nodes.js";

// Where a swarm one-off runs (pure): the nodes a manager's worker published, the workers'
// heartbeats, and the app's `ps:placement run ...` constraints in; one node out, or a
// one-line error naming what to do.

/** What to tell an operator whose node has no worker to take runs. */
export const WORKER_HINT =
  "run `paas server --roles worker` there with DOCKER_HOST at that node's engine and the same PAAS_SCHEDULER, PAAS_REDIS_URL, PAAS_NAMESPACE and PAAS_SECRET_KEY";

/** Does a node satisfy one constraint (node.hostname==x, node.labels.zone!=a, ...)? As Swarm: a missing value never equals. */
export function satisfies(node: RunNode, constraint: string): boolean {
  const m = /^(.+?)(==|!=)(.+)$/.exec(constraint.replace(/\s+/g, ""));
  if (!m) return false;
  const [, key, op, want] = m;
  let have: string | undefined;
  if (key === "node.id") have = node.id;
  else if (key === "node.hostname") have = node.hostname;
  else if (key === "node.role") have = node.role;
  else if (key.startsWith("node.labels.")) have = node.labels[key.slice("node.labels.".length)];
  // engine.labels.* and node.platform.* are not published: treated as absent.
  const equal =
    have !== undefined && (key === "node.id" ? have === want || have.startsWith(want) : have === want);
  return op === "==" ? equal : !equal;
}

/** Heartbeats recent enough, by node id. */
export function liveWorkers(beats: WorkerBeat[], now: number): Map<string, WorkerBeat> {
  return new Map(beats.filter((b) => now - b.at <= WORKER_LIVE_MS).map((b) => [b.node, b]));
}

/**
 * The node a one-off runs on: among ready, active nodes (not being drained) that satisfy every
 * constraint, those with a live worker, fewest tasks first (then by name). Without a published
 * nodes list (no manager's worker lately), the nodes are those with a live worker.
 */
export function chooseNode(
  nodes: RunNode[] | null,
  beats: WorkerBeat[],
  constraints: string[],
  now: number,
): RunNode {
  const live = liveWorkers(beats, now);
  const known: RunNode[] =
    nodes ??
    [...live.values()].map((b) => ({
      id: b.node,
      hostname: b.hostname,
      role: b.manager ? "manager" : "worker",
      state: "ready",
      availability: "active",
      labels: {},
      tasks: 0,
    }));
  const placed = known.filter((n) => constraints.every((c) => satisfies(n, c)));
  const where = constraints.length > 0 ? ` matching ${constraints.join(", ")}` : "";
  if (placed.length === 0) {
    if (known.length === 0)
      throw new PaasError("unavailable", `no node can take a one-off: no worker is running; ${WORKER_HINT}`);
    throw invalid(
      `no node${where} for a one-off (nodes: ${known.map((n) => n.hostname).join(", ")}); change it with paas ps:placement run ... or --clear`,
    );
  }
  const usable = placed.filter(
    (n) => n.state === "ready" && n.availability === "active" && n.labels[DRAINING_LABEL] !== "true",
  );
  if (usable.length === 0)
    throw new PaasError(
      "unavailable",
      `no ready, active node${where} for a one-off (${placed.map((n) => `${n.hostname}: ${n.state}, ${n.availability}`).join("; ")})`,
    );
  const withWorker = usable.filter((n) => live.has(n.id));
  if (withWorker.length === 0) {
    const names = usable.map((n) => n.hostname).join(", ");
    throw new PaasError(
      "unavailable",
      `no paas worker is running on ${usable.length === 1 ? "node" : "nodes"} ${names}, so a one-off cannot start there: ${WORKER_HINT}`,
    );
  }
  return withWorker.sort((a, b) => a.tasks - b.tasks || a.hostname.localeCompare(b.hostname))[0];
}
