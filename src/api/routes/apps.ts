import express from "express";
import { authorize, type Principal } from "../../auth/policy.js";
import { invalid } from "../../errors.js";
import type { AppName } from "../../names.js";
import { appUrl } from "../../runtime/release.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import { createApp, destroyRunning } from "../operations.js";
import type { Services } from "../services.js";
import { schemas, validate } from "../validate.js";

export function gitUrl(s: Services, app: string): string {
  return `${s.settings.apiUrl}/git/${app}.git`;
}

export async function appSummary(s: Services, name: AppName) {
  const rec = await s.store.apps.require(name);
  const release = rec.release ? await s.store.releases.get(name, rec.release) : null;
  return {
    name,
    url: appUrl(s.settings, name),
    gitUrl: gitUrl(s, name),
    createdAt: rec.createdAt,
    release: release
      ? {
          version: `v${release.version}`,
          image: release.image,
          commit: release.commit,
          createdAt: release.createdAt,
          description: release.description,
        }
      : null,
  };
}

/** The apps `principal` may read (the one policy decides), sorted. */
export async function visibleApps(s: Services, principal: Principal): Promise<AppName[]> {
  const names = await s.store.apps.list();
  if (principal.role === "admin") return names;
  const access = await Promise.all(names.map((n) => s.store.access.get(n)));
  return names.filter((_n, i) => authorize(principal, "app:read", access[i]).allow);
}

export function appsRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps",
    handle(async (_req, res) => {
      // Only the apps the caller may read: all of them for an admin.
      const visible = await visibleApps(s, res.locals.principal as Principal);
      res.json(await Promise.all(visible.map((n) => appSummary(s, n))));
    }),
  );

  r.post(
    "/apps",
    validate(schemas.createApp),
    handle(async (req, res) => {
      if (Number(req.headers["content-length"] ?? 0) > 0 && !req.is("application/json")) {
        throw invalid('send JSON with Content-Type: application/json, e.g. {"name": "my-app"}');
      }
      const name = await createApp(s, ((req.body ?? {}) as { name?: unknown }).name);
      // The creator owns it.
      await s.store.access.setOwner(name, String(res.locals.user));
      res.status(201).json(await appSummary(s, name));
    }),
  );

  r.get(
    "/apps/:app",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const summary = await appSummary(s, name);
      const access = await s.store.access.get(name);
      res.json({ ...summary, ...access, processes: await s.reader.ps(name) });
    }),
  );

  r.delete(
    "/apps/:app",
    handle(async (req, res) => {
      const { name } = appOf(res);
      if (req.query.confirm !== name) {
        throw invalid(
          `destroying "${name}" removes its containers, images, repo and config: confirm with --confirm ${name}`,
        );
      }
      // A worker removes what runs (route, app state, containers, images, build cache) in the
      // app's job order; then the rest goes from here.
      await destroyRunning(s, name, String(res.locals.user ?? ""));
      // Its domains go back to the pool and its certificates (and ACME state) with them.
      await s.store.domains.destroy(name);
      await s.store.certs.destroy(name);
      await s.store.acme.disable(name);
      await s.repos.remove(name);
      await s.queue.forget(await s.store.builds.removeApp(name));
      await s.store.access.forget(name);
      s.log("app destroyed", { app: name });
      res.json({ destroyed: name });
    }),
  );

  return r;
}
