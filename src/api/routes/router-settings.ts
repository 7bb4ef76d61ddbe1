import express from "express";
import { invalid } from "../../errors.js";
import {
  effectiveRouterSettings,
  formatRouterValue,
  parseRouterKey,
  parseRouterValue,
  ROUTER_KEYS,
  type RouterSettingKey,
  type RouterSettings,
  RouterSettingsStore,
} from "../../store/router-settings.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

/** What `router:report` shows: each key's value in effect, and whether it is the default. */
export interface RouterReport {
  settings: Record<RouterSettingKey, { value: string; default: boolean }>;
  maintenance: boolean;
}

export function reportOf(stored: RouterSettings): RouterReport {
  const eff = effectiveRouterSettings(stored);
  const settings = {} as RouterReport["settings"];
  for (const [key, spec] of Object.entries(ROUTER_KEYS) as [
    RouterSettingKey,
    (typeof ROUTER_KEYS)[RouterSettingKey],
  ][]) {
    settings[key] = {
      value: formatRouterValue(key, eff[spec.field]),
      default: stored[spec.field] === undefined,
    };
  }
  return { settings, maintenance: eff.maintenance };
}

/**
 * Per-app router settings and maintenance mode. They change no release (nothing restarts):
 * the route entry changes and every router process picks it up from the change feed.
 */
export function routerSettingsRoutes(s: Services): express.Router {
  const r = express.Router();
  const store = new RouterSettingsStore(s.store.redis, s.store.keys);

  r.get(
    "/apps/:app/router",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      res.json(reportOf(await store.get(name)));
    }),
  );

  // {"client-max-body-size": "200m", "idle-timeout": null}: null (or "default") resets a key.
  r.patch(
    "/apps/:app/router",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = req.body as unknown;
      if (!body || typeof body !== "object" || Array.isArray(body) || Object.keys(body).length === 0) {
        throw invalid('send a JSON object of router settings, e.g. {"client-max-body-size": "200m"}');
      }
      const patch: Partial<Record<keyof RouterSettings, number | undefined>> = {};
      for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
        const key = parseRouterKey(k);
        if (v !== null && typeof v !== "string")
          throw invalid(`router setting ${key} must be a string (or null to reset)`);
        patch[ROUTER_KEYS[key].field] = v === null || v === "default" ? undefined : parseRouterValue(key, v);
      }
      res.json(reportOf(await store.update(name, patch)));
    }),
  );

  r.put(
    "/apps/:app/maintenance",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const on = (req.body as { enabled?: unknown } | undefined)?.enabled;
      if (typeof on !== "boolean") throw invalid('send {"enabled": true} or {"enabled": false}');
      res.json(reportOf(await store.update(name, { maintenance: on })));
    }),
  );

  return r;
}
