import express from "express";
import { conflict, notFound } from "../../errors.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";
import { schemas, validate } from "../validate.js";

// Who may use an app: its owner and collaborators (paas access, access:add/remove, apps:transfer).

export function accessRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/apps/:app/access",
    handle(async (_req, res) => {
      const { name } = appOf(res);
      res.json({ app: name, ...(await s.store.access.get(name)) });
    }),
  );

  r.post(
    "/apps/:app/access",
    validate(schemas.member),
    handle(async (req, res) => {
      const { name } = appOf(res);
      const email = (req.body as { email: string }).email.toLowerCase();
      const user = await s.store.users.require(email);
      const access = await s.store.access.get(name);
      if (access.owner === user.email) throw conflict(`${email} owns ${name} already`);
      if (!(await s.store.access.addCollaborator(name, user.email)))
        throw conflict(`${email} is a collaborator on ${name} already`);
      res.status(201).json({ app: name, ...(await s.store.access.get(name)) });
    }),
  );

  r.delete(
    "/apps/:app/access/:email",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const email = String(req.params.email).toLowerCase();
      if (!(await s.store.access.removeCollaborator(name, email)))
        throw notFound(
          `${email.slice(0, 254)} is not a collaborator on ${name}: see \`paas access -a ${name}\``,
        );
      res.json({ app: name, ...(await s.store.access.get(name)) });
    }),
  );

  r.post(
    "/apps/:app/transfer",
    validate(schemas.member),
    handle(async (req, res) => {
      const { name } = appOf(res);
      const email = (req.body as { email: string }).email.toLowerCase();
      const user = await s.store.users.require(email);
      const before = await s.store.access.get(name);
      if (before.owner === user.email) throw conflict(`${email} owns ${name} already`);
      await s.store.access.setOwner(name, user.email);
      res.json({ app: name, from: before.owner, ...(await s.store.access.get(name)) });
    }),
  );

  return r;
}
