// Every Docker object the platform creates carries these labels, so it can prove it owns
// a container or image before touching it, and sweep what an earlier run left behind.
export const LABEL = {
  managed: "paas.managed",
  namespace: "paas.namespace",
  app: "paas.app",
  release: "paas.release",
  process: "paas.process",
  instance: "paas.instance",
  kind: "paas.kind",
  processTypes: "paas.process-types",
} as const;

export function ownedLabels(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL.managed]: "true", [LABEL.namespace]: namespace, ...extra };
}

/** Docker label filter for objects of one namespace (and optionally one app). */
export function ownedFilter(namespace: string, app?: string, extra: string[] = []): { label: string[] } {
  const label = [`${LABEL.managed}=true`, `${LABEL.namespace}=${namespace}`, ...extra];
  if (app) label.push(`${LABEL.app}=${app}`);
  return { label };
}
