import type { Redis, RedisOptions } from "ioredis";
import { PaasError } from "../errors.js";

// Redis is the platform's state store: when it is unreachable, the API and git answer at
// once with one line that says so, instead of waiting in ioredis' offline queue.

/**
 * Options of the store's own connection (API handlers, runtime, reconcile). A command sent
 * while Redis is unreachable fails at the next reconnect attempt (at most ~1 s later)
 * instead of waiting for Redis, so nothing a user was told failed is applied later.
 * bullmq's connections keep maxRetriesPerRequest null, as bullmq requires.
 */
export const STORE_CONNECTION: RedisOptions = {
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(times * 100, 1_000),
};

/** host:port of a Redis URL, without credentials (for messages users and logs see). */
export function storeAddress(redisUrl: string): string {
  try {
    const u = new URL(redisUrl);
    return `${u.hostname}:${u.port || "6379"}`;
  } catch {
    return "the configured URL";
  }
}

export function storeUnreachableMessage(redisUrl: string): string {
  return `the platform's state store (Redis at ${storeAddress(redisUrl)}) is unreachable; try again shortly`;
}

export function storeUnreachable(redisUrl: string): PaasError {
  return new PaasError("unavailable", storeUnreachableMessage(redisUrl));
}

export function storeIsReady(redis: Redis): boolean {
  return redis.status === "ready";
}

/** An error that means "Redis could not be asked", as opposed to an answer from it. */
export function isStoreConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "MaxRetriesPerRequestError") return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EPIPE")
    return true;
  return /^(Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request)/.test(
    err.message,
  );
}

/**
 * A Redis that stops answering without closing its connection (a hung server, a network
 * that drops packets) leaves ioredis "ready" and every command waiting. Ping it every
 * `everyMs`; when a ping gets no answer within `timeoutMs`, or a reconnect hangs in its
 * handshake as long, drop the connection: commands waiting fail at once (the API answers
 * 503) and ioredis reconnects on its own. Returns a stop function.
 */
export function watchStore(
  redis: Redis,
  opts: { everyMs?: number; timeoutMs?: number; onHung?: () => void } = {},
): () => void {
  const everyMs = opts.everyMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 1_000;
  let busy = false;
  let connectingSince: number | null = null;
  const drop = () => {
    opts.onHung?.();
    // Destroy rather than end the socket: a hung peer never completes a graceful close.
    // ioredis sees the close, fails what waits, and reconnects.
    redis.stream?.destroy();
  };
  const timer = setInterval(() => {
    if (redis.status === "connect") {
      connectingSince ??= Date.now();
      if (Date.now() - connectingSince > timeoutMs) {
        connectingSince = null;
        drop();
      }
      return;
    }
    connectingSince = null;
    if (redis.status !== "ready" || busy) return;
    busy = true;
    let answered = false;
    const deadline = setTimeout(() => {
      if (!answered && redis.status === "ready") drop();
    }, timeoutMs);
    redis
      .ping()
      .catch(() => {})
      .finally(() => {
        answered = true;
        busy = false;
        clearTimeout(deadline);
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
