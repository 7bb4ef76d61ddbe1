import express from "express";
import { inspectPair, uncovered } from "../../domains/certs.js";
import { invalid } from "../../errors.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";

// TLS certificates: added by hand (checked: the key matches, not expired, which of the
// app's domains it leaves uncovered), or obtained by the router's ACME renewer once
// `certs:auto` is on. The platform default certificate (for *.<PAAS_DOMAIN>) is an admin
// setting under /certs/default.

function readPair(body: unknown): { cert: string; key: string } {
  const b = (body ?? {}) as { cert?: unknown; key?: unknown };
  if (typeof b.cert !== "string" || typeof b.key !== "string") {
    throw invalid('send {"cert": "<PEM chain>", "key": "<PEM key>"}');
  }
  return { cert: b.cert, key: b.key };
}

async function certsView(s: Services, app: string) {
  const [certs, domains, auto] = await Promise.all([
    s.store.certs.list(app),
    s.store.domains.list(app),
    s.store.acme.status(app),
  ]);
  const covered = new Set<string>();
  const view = certs.map((c) => {
    const missing = uncovered(c.names, domains);
    for (const d of domains) if (!missing.includes(d)) covered.add(d);
    return { ...c, daysLeft: Math.floor((Date.parse(c.notAfter) - Date.now()) / 86_400_000) };
  });
  return { app, certs: view, uncovered: domains.filter((d) => !covered.has(d)), auto };
}

export function certRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/certs",
    handle(async (_req, res) => {
      res.json(await certsView(s, appOf(res).name));
    }),
  );

  r.post(
    "/apps/:app/certs",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const { cert, key } = readPair(req.body);
      const facts = inspectPair(cert, key);
      const stored = await s.store.certs.put({ ...facts, app: name, source: "manual", chain: cert, key });
      const missing = uncovered(facts.names, await s.store.domains.list(name));
      s.log("certificate added", { app: name, cert: stored.id, names: facts.names });
      res.status(201).json({ cert: stored, notCovered: missing });
    }),
  );

  // certs:auto on / off: the renewer (router role) obtains and renews the certificates.
  r.put(
    "/apps/:app/certs/auto",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      const domains = (await s.store.domains.list(name)).filter((d) => !d.startsWith("*."));
      if (domains.length === 0) {
        throw invalid(
          `${name} has no custom domain ACME can verify: add one with paas domains:add (wildcards need DNS-01, not supported)`,
        );
      }
      const status = await s.store.acme.enable(name);
      s.log("automatic certificates enabled", { app: name });
      res.json({ app: name, domains, auto: status });
    }),
  );

  r.delete(
    "/apps/:app/certs/auto",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      await s.store.acme.disable(name);
      res.json({ app: name, auto: await s.store.acme.status(name) });
    }),
  );

  // After /certs/auto, so "auto" is never taken for a certificate id.
  r.delete(
    "/apps/:app/certs/:id",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const gone = await s.store.certs.remove(name, String(req.params.id));
      res.json({ removed: gone });
    }),
  );

  // The platform default certificate. Admin-only once users exist (issue 10).
  r.get(
    "/certs/default",
    handle(async (_req, res) => {
      res.json({ cert: await s.store.certs.getDefault() });
    }),
  );

  r.put(
    "/certs/default",
    handle(async (req, res) => {
      const { cert, key } = readPair(req.body);
      const facts = inspectPair(cert, key);
      const stored = await s.store.certs.put({ ...facts, app: null, source: "manual", chain: cert, key });
      const want = `*.${s.settings.domain}`;
      res.json({ cert: stored, notCovered: uncovered(facts.names, [want]) });
    }),
  );

  r.delete(
    "/certs/default",
    handle(async (_req, res) => {
      res.json({ removed: await s.store.certs.removeDefault() });
    }),
  );

  return r;
}
