import express from "express";
import { hostOfUrl, parseDomain, parseDomains, type ReservedNames } from "../../domains/names.js";
import { invalid } from "../../errors.js";
import type { DomainOptions } from "../../store/domains.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";
import { schemas, validate } from "../validate.js";

// Custom domains and the per-app HTTPS options (redirect, HSTS, the default domain).
// Claims are atomic in the store; here names are checked and normalised first.

/** HSTS max-age bounds: up to two years, as browsers' preload lists ask for at most. */
const MAX_HSTS = 2 * 365 * 24 * 3600;

export function reservedNames(s: Services): ReservedNames {
  return { domain: s.settings.domain, apiHost: hostOfUrl(s.settings.apiUrl) };
}

export async function domainsView(s: Services, app: string) {
  const [domains, options] = await Promise.all([s.store.domains.list(app), s.store.domains.options(app)]);
  return {
    app,
    default: { hostname: `${app}.${s.settings.domain}`, enabled: options.defaultDomain },
    domains: domains.map((hostname) => ({ hostname, wildcard: hostname.startsWith("*.") })),
    options,
  };
}

export function domainRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/domains",
    handle(async (_req, res) => {
      res.json(await domainsView(s, appOf(res).name));
    }),
  );

  r.post(
    "/apps/:app/domains",
    validate(schemas.domainsAdd),
    handle(async (req, res) => {
      const { name } = appOf(res);
      const raw = (req.body as { hostnames?: unknown } | undefined)?.hostnames;
      const names = parseDomains(raw, reservedNames(s));
      await s.store.domains.add(name, names);
      s.log("domains added", { app: name, domains: names });
      res.status(201).json({ added: names, ...(await domainsView(s, name)) });
    }),
  );

  r.delete(
    "/apps/:app/domains/:hostname",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const hostname = parseDomain(req.params.hostname);
      await s.store.domains.remove(name, hostname);
      s.log("domain removed", { app: name, domain: hostname });
      res.json({ removed: [hostname], ...(await domainsView(s, name)) });
    }),
  );

  r.delete(
    "/apps/:app/domains",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const before = await s.store.domains.list(name);
      await s.store.domains.clear(name);
      res.json({ removed: before, ...(await domainsView(s, name)) });
    }),
  );

  r.patch(
    "/apps/:app/domain-options",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const patch = parseOptionsPatch(req.body);
      await s.store.domains.setOptions(name, patch);
      res.json(await domainsView(s, name));
    }),
  );

  return r;
}

export function parseOptionsPatch(body: unknown): Partial<DomainOptions> {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw invalid('send a JSON object, e.g. {"httpsRedirect": true}');
  }
  const b = body as Record<string, unknown>;
  const patch: Partial<DomainOptions> = {};
  for (const key of Object.keys(b)) {
    const v = b[key];
    if (key === "defaultDomain" || key === "httpsRedirect") {
      if (typeof v !== "boolean") throw invalid(`${key} must be true or false`);
      patch[key] = v;
    } else if (key === "hstsMaxAge") {
      if (v !== null && (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_HSTS)) {
        throw invalid(
          `hstsMaxAge must be whole seconds from 0 to ${MAX_HSTS} (two years), or null to turn HSTS off`,
        );
      }
      patch.hstsMaxAge = v as number | null;
    } else {
      throw invalid(`unknown option "${key}": use defaultDomain, httpsRedirect or hstsMaxAge`);
    }
  }
  if (Object.keys(patch).length === 0)
    throw invalid("give at least one of defaultDomain, httpsRedirect, hstsMaxAge");
  return patch;
}
