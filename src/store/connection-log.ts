import type { Redis } from "ioredis";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

/**
 * Make a Redis connection's trouble visible in the platform log without flooding it: the
 * first error after the connection was up ("lost"), a new kind of error while it is down,
 * and its return ("restored"). ioredis retries on its own and emits an error per attempt;
 * an "error" listener is also what keeps ioredis from printing unhandled-error warnings.
 * `name` says which connection it is (state, queue, build worker, route feed...).
 */
export function logConnection(redis: Redis, log: Log, name: string): void {
  let down = false;
  let lastError = "";
  redis.on("error", (err: Error) => {
    const error = err?.message ?? String(err);
    if (down && error === lastError) return;
    lastError = error;
    log(down ? "redis connection still down" : "redis connection lost", {
      level: "warn",
      connection: name,
      error,
    });
    down = true;
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    lastError = "";
    log("redis connection restored", { connection: name });
  });
}
