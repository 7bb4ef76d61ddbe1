import type { ContainerSpec } from "../docker/containers.js";
import { LABEL } from "../docker/labels.js";
import type { ContainerEnvResult } from "../plugins/catalog.js";
import type { Release } from "../store/releases.js";
import { containerName, planContainer } from "./plan.js";

// Pure plan of a one-off container (`paas run`, a cron run): the release's image and config,
// DYNO=run.N or scheduler.N, labelled kind "oneoff" so `paas ps` and the log readers see it,
// no published ports, no restart, no Docker socket.

export type OneOffProcess = "run" | "scheduler";
/** attached: a client holds its stdio; detached: `paas run --detach`; cron: a scheduled run. */
export type OneOffMode = "attached" | "detached" | "cron";

/** Labels only one-offs carry: how they run, and which scheduled job they belong to. */
export const ONEOFF_LABEL = {
  mode: "paas.oneoff",
  cronJob: "paas.cron-job",
  cronTime: "paas.cron-time",
} as const;

export interface OneOffPlanInput {
  namespace: string;
  app: string;
  release: Release;
  process: OneOffProcess;
  number: number;
  command: string;
  env: Record<string, string>;
  memory: number;
  /** Processes it may run (PAAS_PIDS_LIMIT). */
  pidsLimit?: number;
  tty: boolean;
  mode: OneOffMode;
  term?: string | null;
  cronJob?: string;
  /** The scheduled time a cron run is for (ISO). */
  scheduledAt?: string;
  /** What plugins answered to `container-env` (runtime/plugin-env.ts). */
  plugin?: ContainerEnvResult;
}

/** DYNO of a one-off: run.N for `paas run`, scheduler.N for cron (Heroku Scheduler's name). */
export function dynoName(process: OneOffProcess, n: number): string {
  return `${process}.${n}`;
}

/**
 * The command to run: a bare Procfile process type (`paas run worker`) runs that type's
 * command, as Dokku does; anything else is a shell command line.
 */
export function resolveCommand(command: string, processTypes: Record<string, string>): string {
  const word = command.trim();
  if (/^[A-Za-z0-9_-]+$/.test(word) && Object.hasOwn(processTypes, word) && processTypes[word])
    return processTypes[word];
  return command;
}

export function planOneOff(p: OneOffPlanInput): ContainerSpec {
  const slot = { type: p.process, index: p.number };
  const command = resolveCommand(p.command, p.release.processTypes);
  const base = planContainer({
    namespace: p.namespace,
    app: p.app,
    release: { ...p.release, processTypes: { ...p.release.processTypes, [p.process]: command } },
    slot,
    memory: p.memory,
    pidsLimit: p.pidsLimit,
    name: containerName(p.namespace, p.app, slot),
    plugin: p.plugin,
  });
  // Later entries win: the user's --env over config, then what the platform sets.
  const env = new Map<string, string>();
  for (const kv of base.Env ?? []) {
    const i = kv.indexOf("=");
    env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const [k, v] of Object.entries(p.env)) env.set(k, v);
  env.set("DYNO", dynoName(p.process, p.number));
  if (p.tty) env.set("TERM", p.term || "xterm");
  const attached = p.mode === "attached";
  const labels: Record<string, string> = {
    ...base.Labels,
    [LABEL.kind]: "oneoff",
    [ONEOFF_LABEL.mode]: p.mode,
  };
  if (p.cronJob) labels[ONEOFF_LABEL.cronJob] = p.cronJob;
  if (p.scheduledAt) labels[ONEOFF_LABEL.cronTime] = p.scheduledAt;
  return {
    ...base,
    Env: [...env].map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    ExposedPorts: undefined,
    Tty: p.tty,
    OpenStdin: attached,
    StdinOnce: attached,
    AttachStdin: attached,
    AttachStdout: attached,
    AttachStderr: attached,
    HostConfig: {
      ...base.HostConfig,
      PortBindings: undefined,
      RestartPolicy: { Name: "no" },
    },
  };
}
