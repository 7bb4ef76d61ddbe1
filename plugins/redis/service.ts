// The redis add-on service: Debian's redis-server in paas/redis:7 (scripts/images/redis),
// AOF persistence in a named volume, a password on the add-on's network.

import type { ServiceKind } from "../addons/types.js";

export const redis: ServiceKind = {
  name: "redis",
  image: "paas/redis:7",
  port: 6379,
  dataPath: "/data",
  defaultAs: "REDIS",
  env: (a) => [`REDIS_PASSWORD=${a.password}`],
  url: (a, host) => `redis://:${a.password}@${host}:6379`,
  readyCommand: () => ["sh", "-c", 'redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG'],
};
