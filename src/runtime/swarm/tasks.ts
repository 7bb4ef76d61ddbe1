import type Docker from "dockerode";
import { LABEL } from "../../docker/labels.js";
import type { NodeInfo, TaskInfo } from "../../docker/services.js";
import type { Backend } from "../../store/routes.js";
import type { ProcessInfo } from "../runtime.js";
import { SWARM_LABEL } from "./plan.js";

// Pure helpers over services and tasks: which services are current, which tasks serve,
// what `paas ps` shows.

export interface AppService {
  id: string;
  name: string;
  type: string;
  release: string;
  generation: string;
  replicas: number;
  version: number;
  spec: Record<string, unknown>;
  createdAt: string;
}

export function appServiceOf(s: Docker.Service): AppService {
  const spec = (s.Spec ?? {}) as Record<string, unknown> & {
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas?: number } };
  };
  const labels = spec.Labels ?? {};
  return {
    id: s.ID,
    name: String((spec as { Name?: string }).Name ?? s.ID),
    type: labels[LABEL.process] ?? "",
    release: labels[LABEL.release] ?? "",
    generation: labels[SWARM_LABEL.generation] ?? "",
    replicas: spec.Mode?.Replicated?.Replicas ?? 0,
    version: s.Version?.Index ?? 0,
    spec,
    createdAt: s.CreatedAt ?? "",
  };
}

/** The newest service of each process type: the one that serves; the others are draining. */
export function currentByType(services: AppService[]): Map<string, AppService> {
  const out = new Map<string, AppService>();
  for (const s of services) {
    const have = out.get(s.type);
    if (!have || s.createdAt > have.createdAt) out.set(s.type, s);
  }
  return out;
}

/**
 * Route backends: the running tasks' overlay addresses. The id names the dyno first
 * (`web.2.<task>`), so the router's access lines say `dyno=web.2` as on one engine.
 */
export function backendsOfTasks(tasks: TaskInfo[], network: string, port: number): Backend[] {
  return tasks
    .filter((t) => t.state === "running" && t.desired === "running" && t.addresses[network])
    .sort((a, b) => a.slot - b.slot)
    .map((t) => ({ host: t.addresses[network], port, id: `web.${t.slot}.${t.id.slice(0, 12)}` }));
}

const STATE: Record<string, ProcessInfo["state"]> = {
  running: "up",
  new: "starting",
  pending: "starting",
  assigned: "starting",
  accepted: "starting",
  preparing: "starting",
  ready: "starting",
  starting: "starting",
  failed: "crashed",
  rejected: "crashed",
  orphaned: "crashed",
  complete: "stopped",
  shutdown: "stopped",
};

/** `paas ps` lines: one per task that should run, with its node. */
export function processesOf(
  services: AppService[],
  tasks: TaskInfo[],
  nodes: NodeInfo[],
): (ProcessInfo & { node: string })[] {
  const current = currentByType(services);
  const byId = new Map(services.map((s) => [s.id, s]));
  const host = new Map(nodes.map((n) => [n.id, n.hostname]));
  const out: (ProcessInfo & { node: string })[] = [];
  for (const t of tasks) {
    const svc = byId.get(t.serviceId);
    if (!svc || t.desired !== "running") continue;
    const draining = current.get(svc.type)?.id !== svc.id;
    const args = (svc.spec as { TaskTemplate?: { ContainerSpec?: { Args?: string[] } } }).TaskTemplate
      ?.ContainerSpec?.Args;
    out.push({
      name: `${svc.type}.${t.slot}`,
      type: svc.type,
      index: t.slot,
      state: draining && t.state === "running" ? "draining" : (STATE[t.state] ?? "starting"),
      release: svc.release,
      command: (args ?? []).slice(2).join(" "),
      startedAt: t.state === "running" ? t.updatedAt : null,
      restarts: 0,
      port: null,
      container: t.id.slice(0, 12),
      node: host.get(t.nodeId) ?? t.nodeId.slice(0, 12),
    });
  }
  return out.sort(
    (a, b) =>
      a.name.localeCompare(b.name, undefined, { numeric: true }) ||
      Number(a.state === "draining") - Number(b.state === "draining"),
  );
}

/** Why a service's tasks did not come up: the newest failed task's error, or null. */
export function failureOf(tasks: TaskInfo[]): string | null {
  const failed = tasks
    .filter((t) => ["failed", "rejected"].includes(t.state))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  if (!failed) return null;
  const code = failed.exitCode !== null ? ` (exit code ${failed.exitCode})` : "";
  return `${failed.error || failed.message}${code}`;
}
