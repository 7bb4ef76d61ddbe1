import type { Response } from "express";
import express from "express";
import { z } from "zod";
import { conflict, forbidden, invalid, notFound } from "../../errors.js";
import { rotateKey } from "../../store/secrets.js";
import { normalizeFingerprint, parsePublicKey } from "../../store/ssh-keys.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";
import { validate } from "../validate.js";

/** POST /keys: the contents of a .pub file (checked by parsePublicKey after the schema). */
const addKeySchema = z.object({
  key: z
    .string({ error: 'send {"key": "<the contents of your .pub file>"}' })
    .max(16 * 1024, { error: "is longer than 16 KiB: give one public key" }),
});

// SSH keys for git over SSH (`paas keys`, keys:add, keys:remove): each key belongs to the
// user who added it. And `paas secrets:rotate-key` (admins): re-seal every secret at rest
// with a new key.

const userOf = (res: Response) => String(res.locals.user ?? "");
/** Admin unless a principal with another role says so (the one admin token today). */
const isAdmin = (res: Response) => {
  const role = (res.locals.principal as { role?: string } | undefined)?.role;
  return role === undefined ? userOf(res) === "admin" : role === "admin";
};

export function keyRoutes(s: Services): express.Router {
  const r = express.Router();

  r.get(
    "/keys",
    handle(async (_req, res) => {
      const keys = await s.store.sshKeys.list(userOf(res));
      res.json(keys.map(({ blob: _b, ...k }) => k));
    }),
  );

  r.post(
    "/keys",
    validate(addKeySchema),
    handle(async (req, res) => {
      const key = parsePublicKey((req.body as z.infer<typeof addKeySchema>).key);
      const record = { ...key, user: userOf(res), addedAt: new Date().toISOString() };
      if (!(await s.store.sshKeys.add(record))) {
        const owner = (await s.store.sshKeys.get(key.fingerprint))?.user;
        throw conflict(
          owner === userOf(res)
            ? `key ${key.fingerprint} is already added`
            : `key ${key.fingerprint} belongs to another user: each key can belong to one user only`,
        );
      }
      s.log("ssh key added", { fingerprint: key.fingerprint, user: record.user });
      const { blob: _b, ...shown } = record;
      res.status(201).json(shown);
    }),
  );

  r.delete(
    "/keys/:fingerprint",
    handle(async (req, res) => {
      const fp = normalizeFingerprint(String(req.params.fingerprint));
      const key = await s.store.sshKeys.get(fp);
      // Someone else's key looks the same as no key to a non-admin.
      if (!key || (key.user !== userOf(res) && !isAdmin(res)))
        throw notFound(`no key ${fp}: list yours with paas keys`);
      await s.store.sshKeys.remove(fp);
      s.log("ssh key removed", { fingerprint: fp, user: key.user });
      res.json({ removed: fp });
    }),
  );

  r.post(
    "/secrets/rotate-key",
    handle(async (_req, res) => {
      if (!isAdmin(res)) throw forbidden("only admins may rotate the secrets key");
      const ring = s.store.secrets;
      if (!ring) throw invalid("this API was started without a secrets key");
      const report = await rotateKey(s.store, ring, {
        dataDir: s.settings.dataDir,
        fromEnv: s.settings.secretKey !== null,
      });
      s.log("secrets key rotated", {
        key: report.currentKey,
        resealed: report.resealed,
        remaining: report.remaining,
      });
      res.json(report);
    }),
  );

  return r;
}
