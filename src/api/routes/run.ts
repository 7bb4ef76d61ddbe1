import express from "express";
import { parseAppName } from "../../names.js";
import { parseRunRequest } from "../../run-protocol.js";
import { cronListing } from "../../runtime/cron.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

/** `paas run --detach` (attached runs are a websocket: run-socket.ts) and `paas cron`. */
export function runRoutes(s: Services): express.Router {
  const r = express.Router();

  r.post(
    "/apps/:app/run",
    handle(async (req, res) => {
      const app = parseAppName(req.params.app);
      const run = parseRunRequest(req.body);
      const o = await s.runner.detached(app, run);
      s.log("one-off started", { app, dyno: o.dyno, detached: true });
      res.status(201).json({ dyno: o.dyno, release: o.release });
    }),
  );

  r.get(
    "/apps/:app/cron",
    handle(async (req, res) => {
      const app = parseAppName(req.params.app);
      res.json(await cronListing(s.store, app, new Date()));
    }),
  );

  return r;
}
