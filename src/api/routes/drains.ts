import crypto from "node:crypto";
import express from "express";
import { invalid, notFound } from "../../errors.js";
import { parseDrainUrl } from "../../logs/drains/url.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

// An app's log drains: GET lists them with delivery counters, POST {url} adds one, DELETE
// ?url= removes one. The shipper picks changes up within seconds.

export function drainRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/drains",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const [list, stats] = await Promise.all([s.store.drains.list(name), s.store.drains.stats(name)]);
      res.json(
        list.map((d) => ({
          url: d.url,
          token: d.token,
          addedAt: d.addedAt,
          ...(stats.get(d.url) ?? { delivered: 0, dropped: 0, lastError: null, lastErrorAt: null }),
        })),
      );
    }),
  );

  r.post(
    "/apps/:app/drains",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const url = (req.body as { url?: unknown } | undefined)?.url;
      if (typeof url !== "string" || url.trim() === "")
        throw invalid('send {"url": "syslog+tls://host:port"}');
      const target = parseDrainUrl(url);
      if ("error" in target) throw invalid(target.error);
      const drain = { url: target.url, token: `d.${crypto.randomUUID()}`, addedAt: new Date().toISOString() };
      if (!(await s.store.drains.add(name, drain))) throw invalid(`${name} already drains to ${target.url}`);
      s.log("drain added", { app: name, kind: target.kind });
      res.status(201).json(drain);
    }),
  );

  r.delete(
    "/apps/:app/drains",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const url = typeof req.query.url === "string" ? req.query.url.trim() : "";
      if (!url) throw invalid("give the drain's URL: DELETE /apps/:app/drains?url=...");
      if (!(await s.store.drains.remove(name, url)))
        throw notFound(`${name} has no drain ${url}; see \`paas drains\``);
      res.json({ removed: url });
    }),
  );

  return r;
}
