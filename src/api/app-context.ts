import type { NextFunction, Request, Response } from "express";
import { type AppName, parseAppName } from "../names.js";
import type { AppRecord, Store } from "../store/index.js";

/** The app a request under /apps/:app is about: its checked name and its record. */
export interface AppContext {
  name: AppName;
  record: AppRecord;
}

const KEY = "paasApp";

/**
 * The one prologue of every `/apps/:app...` route, REST and dashboard alike. Mounted once per
 * router with `router.use("/apps/:app", loadApp(store))` (see api/app.ts), it checks the name
 * (400 naming the rule) and that the app exists (404), so a handler starts with
 * `const { name, record } = appOf(res)` and never repeats parseAppName + apps.require.
 * The record is as of the start of the request: re-read it after changing the app.
 */
export function loadApp(store: Store) {
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(async () => {
        const name = parseAppName(req.params.app);
        res.locals[KEY] = { name, record: await store.apps.require(name) } satisfies AppContext;
      })
      .then(() => next(), next);
  };
}

/** The app loaded by loadApp() for this request. */
export function appOf(res: Response): AppContext {
  const ctx = res.locals[KEY] as AppContext | undefined;
  if (!ctx) throw new Error("appOf() needs loadApp() mounted on /apps/:app in front of this route");
  return ctx;
}
