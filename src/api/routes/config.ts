import express from "express";
import { invalid } from "../../errors.js";
import { parseConfigKey } from "../../names.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";
import { schemas, validate } from "../validate.js";
import { waitForJob } from "./wait.js";

const MAX_VALUE = 32 * 1024;

export function configRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/config",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      res.json(await s.store.config.get(name));
    }),
  );

  // Set (string) or unset (null) vars, then restart the app with them as a new release.
  r.patch(
    "/apps/:app/config",
    validate(schemas.configPatch),
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = req.body as unknown;
      if (!body || typeof body !== "object" || Array.isArray(body) || Object.keys(body).length === 0) {
        throw invalid('send a JSON object of config vars, e.g. {"KEY":"value"} (null unsets a key)');
      }
      const changes: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
        const key = parseConfigKey(k);
        if (v !== null && typeof v !== "string")
          throw invalid(`config var ${key} must be a string (or null to unset)`);
        if (typeof v === "string" && v.length > MAX_VALUE)
          throw invalid(`config var ${key} is longer than 32 KiB`);
        changes[key] = v;
      }
      // Unsetting a key that is not set changes nothing (as on Heroku): it is dropped, and a
      // request with nothing left makes no release and restarts nothing.
      const before = await s.store.config.get(name);
      for (const [k, v] of Object.entries(changes))
        if (v === null && !Object.hasOwn(before, k)) delete changes[k];
      if (Object.keys(changes).length === 0) {
        res.json(before);
        return;
      }
      const config = await s.store.config.apply(name, changes);
      const set = Object.keys(changes).filter((k) => changes[k] !== null);
      const unset = Object.keys(changes).filter((k) => changes[k] === null);
      const parts = [
        set.length ? `Set ${set.join(", ")} config var${set.length > 1 ? "s" : ""}` : "",
        unset.length ? `Unset ${unset.join(", ")} config var${unset.length > 1 ? "s" : ""}` : "",
      ].filter(Boolean);
      // Key names only: values never leave the config store for plugins' logs.
      await s.plugins?.fire("config-change", { app: name, set, unset });
      const rec = await s.store.apps.require(name);
      if (rec.release > 0) {
        await waitForJob(s, {
          kind: "release",
          app: name,
          description: parts.join("; "),
          user: String(res.locals.user ?? ""),
        });
      }
      res.json(config);
    }),
  );

  return r;
}
