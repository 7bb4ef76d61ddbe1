import type { Backend, RouteEntry } from "../store/routes.js";

/**
 * The app's next backend; when none is left (all tried, refused or ejected), one of the
 * entry's standby backends. During a deploy's watch window those are the previous
 * release's containers, still running: a new container that dies there costs no request.
 */
export function pickWithStandby(
  balancer: { pick(entry: RouteEntry, tried?: ReadonlySet<string>): Backend | null },
  entry: RouteEntry,
  tried?: ReadonlySet<string>,
): Backend | null {
  const backend = balancer.pick(entry, tried);
  if (backend || !entry.standby || entry.standby.length === 0) return backend;
  // Its own round-robin position, apart from the app's.
  return balancer.pick({ ...entry, app: `${entry.app}\0standby`, backends: entry.standby }, tried);
}
