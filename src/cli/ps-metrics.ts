import type { Proc } from "./client.js";

// `paas ps` with live figures: CPU % and memory used / limit, published by each host's
// collector (two columns before COMMAND; "-" until a figure is in).

export type ProcWithMetrics = Proc & { cpuPercent?: number; memoryBytes?: number; memoryLimitBytes?: number };

/** 1536 -> "1.5 KiB", 536870912 -> "512 MiB" */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown =
    i === 0 || v >= 100 || Number.isInteger(Math.round(v * 10) / 10) ? String(Math.round(v)) : v.toFixed(1);
  return `${shown} ${units[i]}`;
}

export function metricsCells(p: ProcWithMetrics): [string, string] {
  if (typeof p.memoryBytes !== "number") return ["-", "-"];
  const cpu = `${(p.cpuPercent ?? 0).toFixed(1)}%`;
  const limit = p.memoryLimitBytes ? formatBytes(p.memoryLimitBytes) : "no limit";
  return [cpu, `${formatBytes(p.memoryBytes)} / ${limit}`];
}

/** Insert CPU and MEMORY before the last column (COMMAND) of ps's table. */
export function withMetricsColumns(
  [headers, rows]: [string[], string[][]],
  processes: ProcWithMetrics[],
): [string[], string[][]] {
  const at = headers.length - 1;
  return [
    [...headers.slice(0, at), "CPU", "MEMORY", ...headers.slice(at)],
    rows.map((row, i) => [...row.slice(0, at), ...metricsCells(processes[i]), ...row.slice(at)]),
  ];
}
