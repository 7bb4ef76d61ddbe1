import express from "express";
import { checkRename } from "../../builder/app-rename.js";
import { parseImageRef } from "../../builder/image-release.js";
import { isPaasError, messageOf } from "../../errors.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";
import { appSummary } from "./apps.js";
import { runJob } from "./wait.js";

// apps:rename and deploy:image (Dokku's apps:rename and git:from-image). Both are changes to
// what runs: the API checks what it can, queues a job for a worker (in the app's job order,
// under its lock) and answers when the job is over.

export function appMoveRoutes(s: Services): express.Router {
  const r = express.Router();

  // Rename: answers with the app under its new name once it runs under it.
  r.post(
    "/apps/:app/rename",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const to = await checkRename(s.store, name, (req.body as { name?: unknown } | undefined)?.name);
      await runJob(s, { kind: "rename", app: name, to, user: String(res.locals.user ?? "") });
      s.log("app renamed", { app: to, from: name });
      res.json({ ...(await appSummary(s, to)), renamedFrom: name });
    }),
  );

  // deploy:image: the job's output streams back as NDJSON lines, like a git push's.
  r.post(
    "/apps/:app/deploy-image",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const image = parseImageRef((req.body as { image?: unknown } | undefined)?.image);
      const buildId = await s.queue.enqueue({
        kind: "image",
        app: name,
        image,
        user: String(res.locals.user ?? ""),
      });
      res.status(200).type("application/x-ndjson");
      res.setHeader("Cache-Control", "no-cache");
      res.flushHeaders();
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      try {
        await s.queue.follow(buildId, (e) => res.write(`${JSON.stringify(e)}\n`), abort.signal);
      } catch (err) {
        const message = isPaasError(err) ? err.message : `internal error: ${messageOf(err)}`;
        res.write(`${JSON.stringify({ type: "end", ok: false, message })}\n`);
      }
      res.end();
    }),
  );

  return r;
}
