import type { NextFunction, Request, Response } from "express";
import { isPaasError, messageOf } from "../errors.js";

/** The one place errors become HTTP: typed errors keep their status; anything else is a 500 without a stack. */
export function errorMiddleware(log: (msg: string, ctx?: Record<string, unknown>) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    const e = err as { type?: string; status?: number };
    if (e?.type === "entity.parse.failed") {
      res.status(400).json({ error: { code: "invalid_input", message: "request body is not valid JSON" } });
      return;
    }
    if (e?.type === "entity.too.large") {
      res.status(413).json({ error: { code: "invalid_input", message: "request body is too large" } });
      return;
    }
    if (isPaasError(err)) {
      res.status(err.status).json({ error: { code: err.code, message: err.message, details: err.details } });
      return;
    }
    // express' own 4xx (e.g. a path with malformed percent-encoding): the client's mistake.
    if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
      res
        .status(e.status)
        .json({ error: { code: "invalid_input", message: `bad request: ${messageOf(err)}` } });
      return;
    }
    log("unexpected error", { level: "error", method: req.method, path: req.path, error: messageOf(err) });
    res.status(500).json({ error: { code: "internal", message: `internal error: ${messageOf(err)}` } });
  };
}

/** Wrap an async handler so a rejection reaches the error middleware. */
export const handle =
  (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);
