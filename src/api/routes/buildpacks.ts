import express from "express";
import { parseBuildpackRef } from "../../builder/buildpacks/index.js";
import { invalid } from "../../errors.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { buildStack, purgeBuildCache } from "../operations.js";
import type { Services } from "../services.js";

/** Buildpacks and builder choice per app, the build cache, and the stack images. */
export function buildpackRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/buildpacks",
    handle(async (_req, res) => {
      const rec = appOf(res).record;
      res.json({ buildpacks: rec.buildpacks ?? [], builder: rec.builder ?? null });
    }),
  );

  r.put(
    "/apps/:app/buildpacks",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const list = req.body?.buildpacks;
      if (!Array.isArray(list) || list.some((b) => typeof b !== "string" || b.trim() === "")) {
        throw invalid(
          'send {"buildpacks": ["nodejs", "https://example.com/bp.git#v1"]} (an empty list clears)',
        );
      }
      for (const b of list) {
        try {
          parseBuildpackRef(b);
        } catch (err) {
          throw invalid((err as Error).message);
        }
      }
      await s.store.apps.update(name, { buildpacks: list });
      res.json({ buildpacks: list });
    }),
  );

  r.put(
    "/apps/:app/builder",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const builder = req.body?.builder;
      if (builder !== null && builder !== "dockerfile" && builder !== "buildpacks") {
        throw invalid('builder must be "dockerfile", "buildpacks" or null (auto)');
      }
      await s.store.apps.update(name, { builder });
      res.json({ builder });
    }),
  );

  r.delete(
    "/apps/:app/cache",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      await purgeBuildCache(s, name, String(res.locals.user ?? ""));
      res.json({ purged: true });
    }),
  );

  r.get(
    "/stack",
    handle(async (_req, res) => {
      const info = await s.reader.stack();
      const view = (x: typeof info.build) => ({
        image: x.image,
        present: x.present,
        version: x.version ?? null,
        sizeBytes: x.sizeBytes ?? null,
        installed: x.packages,
      });
      res.json({ stackVersion: info.stackVersion, build: view(info.build), run: view(info.run) });
    }),
  );

  r.post(
    "/stack/build",
    handle(async (_req, res) => {
      res.json(await buildStack(s, String(res.locals.user ?? "")));
    }),
  );

  return r;
}
