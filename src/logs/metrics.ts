import type { Store } from "../store/index.js";

export interface LiveFigures {
  cpuPercent?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
}

/** Add the collectors' live CPU and memory (from Redis) to ps rows, matched by container name. */
export async function withMetrics<T extends { container: string }>(
  store: Store,
  app: string,
  processes: T[],
): Promise<(T & LiveFigures)[]> {
  const live = await store.metrics.get(app);
  return processes.map((p) => {
    const m = live.get(p.container);
    return m
      ? { ...p, cpuPercent: m.cpuPercent, memoryBytes: m.memoryBytes, memoryLimitBytes: m.memoryLimitBytes }
      : p;
  });
}
