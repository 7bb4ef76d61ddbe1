import type { DockerParts } from "../../docker/index.js";
import { LABEL } from "../../docker/labels.js";
import type { TaskInfo } from "../../docker/services.js";
import type { AppService } from "./tasks.js";

// The swarm scheduler's reads of task output: only tasks whose container is on the engine
// this process talks to (the manager's); a per-node collector would cover the others.

async function localTasks(
  docker: DockerParts,
  services: Promise<AppService[]>,
  app: string,
): Promise<{ task: TaskInfo; name: string }[]> {
  const byId = new Map((await services).map((s) => [s.id, s]));
  const tasks = await docker.services.tasks({ label: [`${LABEL.app}=${app}`], "desired-state": ["running"] });
  return tasks
    .filter((t) => byId.has(t.serviceId) && t.containerId)
    .map((task) => ({ task, name: `${byId.get(task.serviceId)?.type}.${task.slot}` }));
}

/** Recent output of the app's tasks, each line prefixed with its process (as on one engine). */
export async function tasksOutput(
  docker: DockerParts,
  services: Promise<AppService[]>,
  app: string,
  lines: number,
): Promise<string[]> {
  const out: string[] = [];
  for (const { task, name } of await localTasks(docker, services, app)) {
    const got = await docker.containers
      .logs(task.containerId ?? "", { tail: lines, timestamps: true })
      .catch(() => [] as string[]);
    for (const l of got) {
      const sp = l.indexOf(" ");
      out.push(`${l.slice(0, sp)} app[${name}]: ${l.slice(sp + 1)}`);
    }
  }
  return out.sort().slice(-lines);
}

/** Follow the app's tasks' output; returns a stop function. */
export async function followTasks(
  docker: DockerParts,
  services: Promise<AppService[]>,
  app: string,
  onLine: (line: string) => void,
): Promise<() => void> {
  const stops: (() => void)[] = [];
  for (const { task, name } of await localTasks(docker, services, app)) {
    const stop = await docker.containers
      .follow(task.containerId ?? "", (l) => onLine(`app[${name}]: ${l}`))
      .catch(() => null);
    if (stop) stops.push(stop);
  }
  return () => {
    for (const s of stops) s();
  };
}
