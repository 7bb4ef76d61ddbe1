import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import { isStoreConnectionError, storeIsReady, storeUnreachableMessage } from "../store/health.js";

/** The answer while the state store is unreachable: the API's JSON envelope, or one text line (git, dashboard). */
function answer(req: Request, res: Response, message: string): void {
  res.setHeader("retry-after", "5");
  if (req.originalUrl.startsWith("/api/")) {
    res.status(503).json({ error: { code: "unavailable", message } });
  } else {
    // git shows a text/plain body of a failed request to the user as "remote: ..." lines.
    res.status(503).type("text/plain").send(`${message}\n`);
  }
}

/**
 * Mounted before every API, git and dashboard route: while the store's connection is not
 * ready, every request is answered at once with 503 and one line, rather than queued until
 * Redis returns. (store/connection-log.ts logs the loss and the return.)
 */
export function storeGate(redis: Redis, redisUrl: string): RequestHandler {
  const message = storeUnreachableMessage(redisUrl);
  return (req: Request, res: Response, next: NextFunction) => {
    if (storeIsReady(redis)) next();
    else answer(req, res, message);
  };
}

/** Error middleware: a request whose Redis command failed because Redis went away gets the same 503. */
export function storeErrors(redisUrl: string) {
  const message = storeUnreachableMessage(redisUrl);
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!isStoreConnectionError(err) || res.headersSent) {
      next(err);
      return;
    }
    answer(req, res, message);
  };
}
