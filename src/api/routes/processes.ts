import express from "express";
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

  return r;
}
