import express from "express";
import { invalid } from "../../errors.js";
import { withMetrics } from "../../logs/metrics.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

export function processRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/ps",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      // Live CPU and memory come from each host's collector, through Redis.
      res.json(await withMetrics(s.store, name, await s.reader.ps(name)));
    }),
  );

  r.get(
    "/apps/:app/logs",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const lines = req.query.lines === undefined ? 100 : Number(req.query.lines);
      if (!Number.isInteger(lines) || lines < 0 || lines > 10_000)
        throw invalid("lines must be between 0 and 10000");
      res.type("text/plain");
      for (const l of lines > 0 ? await s.reader.logs(name, lines) : []) res.write(`${l}\n`);
      if (req.query.tail !== "1" && req.query.tail !== "true") {
        res.end();
        return;
      }
      res.flushHeaders();
      const stop = await s.reader.follow(name, (l) => res.write(`${l}\n`));
      req.on("close", () => stop());
    }),
  );

  return r;
}
