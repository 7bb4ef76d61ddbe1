// The postgres add-on service: Debian's postgresql-15 in paas/postgres:15
// (scripts/images/postgres), data in a named volume, password auth on the add-on's network.

import type { ServiceKind } from "../addons/types.js";

export const postgres: ServiceKind = {
  name: "postgres",
  image: "paas/postgres:15",
  port: 5432,
  dataPath: "/var/lib/postgresql/data",
  defaultAs: "DATABASE",
  env: (a) => [`POSTGRES_USER=${a.user}`, `POSTGRES_PASSWORD=${a.password}`, `POSTGRES_DB=${a.database}`],
  url: (a, host) => `postgres://${a.user}:${a.password}@${host}:5432/${a.database}`,
  // Over TCP: the entrypoint's first-start initdb runs a server on the socket only.
  readyCommand: (a) => ["pg_isready", "-q", "-h", "127.0.0.1", "-U", a.user, "-d", a.database],
};
