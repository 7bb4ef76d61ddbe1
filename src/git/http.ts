import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import express, { type Request, type Response } from "express";
import { requireAuth } from "../auth.js";
import type { BuildQueue } from "../builder/queue.js";
import { isInside } from "../builder/safe-paths.js";
import type { Settings } from "../config.js";
import { isPaasError, messageOf } from "../errors.js";
import { parseAppName } from "../names.js";
import { isStoreConnectionError, storeUnreachable } from "../store/health.js";
import type { Store } from "../store/index.js";
import { gitDenied } from "./http-policy.js";
import type { Repos } from "./repos.js";

export interface GitDeps {
  settings: Settings;
  store: Store;
  repos: Repos;
  queue: BuildQueue;
  /** Shared with the hooks we spawn, so only they can start a deploy through /internal. */
  hookSecret: string;
  hookUrl: () => string;
  log: (msg: string, ctx?: Record<string, unknown>) => void;
}

/** Smart-HTTP git (through `git http-backend`) and the endpoint the pre-receive hook calls. */
export function gitRouter(deps: GitDeps): express.Router {
  const router = express.Router();
  router.post(
    "/internal/push",
    express.json({ limit: "64kb" }),
    (req, res) => void handlePush(deps, req, res),
  );
  router.use(
    "/git",
    requireAuth(deps.store, "git"),
    (req, res, next) => void handleGit(deps, req, res).catch(next),
  );
  return router;
}

async function handleGit(deps: GitDeps, req: Request, res: Response): Promise<void> {
  const m = /^\/([^/]+)\.git(\/.*)?$/.exec(req.path);
  let app: string;
  try {
    if (!m) throw new Error("bad path");
    app = parseAppName(m[1]);
  } catch {
    res.status(404).type("text/plain").send("no such app: git URLs look like <api>/git/<app>.git\n");
    return;
  }
  if (!(await deps.store.apps.get(app as never)) || !deps.repos.exists(app)) {
    res
      .status(404)
      .type("text/plain")
      .send(`app "${app}" not found: create it with \`paas apps:create ${app}\`\n`);
    return;
  }
  // The one policy: git:push for receive-pack, git:fetch for the rest (403 with the reason).
  if (await gitDenied(deps.store, req, res, app)) return;
  await deps.repos.installHook(app);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: deps.repos.root,
    GIT_HTTP_EXPORT_ALL: "1",
    GIT_HTTP_MAX_REQUEST_BUFFER: "100M",
    PATH_INFO: `/${app}.git${m?.[2] ?? ""}`,
    REQUEST_METHOD: req.method,
    QUERY_STRING: new URL(req.originalUrl, "http://x").search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_USER: String(res.locals.user ?? "paas"),
    REMOTE_ADDR: req.socket.remoteAddress ?? "",
    PAAS_HOOK_URL: deps.hookUrl(),
    PAAS_HOOK_SECRET: deps.hookSecret,
    PAAS_APP: app,
    PAAS_DATA_DIR: deps.settings.dataDir,
    PAAS_USER: String(res.locals.user ?? ""),
  };
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
  if (req.headers["content-length"]) env.CONTENT_LENGTH = String(req.headers["content-length"]);

  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(child.stdin);
  // The client may hang up mid-push (EPIPE): worth a line, not a crash.
  child.stdin.on("error", (err) =>
    deps.log("git http-backend input closed early", { app, error: err.message }),
  );
  child.stderr.on("data", (d: Buffer) => deps.log("git http-backend", { app, stderr: d.toString().trim() }));
  // CGI output: headers, blank line, body.
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    const endLf = head.indexOf("\n\n");
    const cut = end >= 0 ? end : endLf;
    if (cut < 0) return;
    const sep = end >= 0 ? 4 : 2;
    const headerText = head.subarray(0, cut).toString("utf8");
    let status = 200;
    for (const line of headerText.split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 200;
      else res.setHeader(name, value);
    }
    res.status(status);
    headersDone = true;
    const rest = head.subarray(cut + sep);
    if (rest.length > 0) res.write(rest);
  });
  child.on("close", (code) => {
    if (!headersDone) {
      if (!res.headersSent) res.status(500).type("text/plain").send(`git failed (exit ${code})\n`);
      return;
    }
    res.end();
  });
  // The client went away mid-request: stop git too. (req's own "close" fires when its body is read.)
  res.on("close", () => {
    if (!res.writableFinished) child.kill();
  });
}

async function handlePush(deps: GitDeps, req: Request, res: Response): Promise<void> {
  if (!sameSecret(String(req.headers["x-paas-hook-secret"] ?? ""), deps.hookSecret)) {
    res.status(403).type("text/plain").send("only the platform's git hook may call this\n");
    return;
  }
  const body = req.body as { app?: string; ref?: string; commit?: string; tarPath?: string; user?: string };
  try {
    const app = parseAppName(body.app);
    await deps.store.apps.require(app);
    if (!body.commit || !body.ref || typeof body.tarPath !== "string") {
      res.status(400).type("text/plain").send("push is missing its commit archive\n");
      return;
    }
    // The archive is deleted after the build: only one the hook wrote, in the platform's
    // own export directory (symlinks resolved), is taken.
    if (!isInside(path.join(deps.settings.dataDir, INCOMING_DIR), body.tarPath)) {
      res
        .status(400)
        .type("text/plain")
        .send("the commit archive is not in the platform's export directory\n");
      return;
    }
    // The archive also goes through Redis: a worker on another host builds it from there.
    const carried = await deps.store.buildSources.put(
      path.basename(body.tarPath),
      await fsp.readFile(body.tarPath),
    );
    if (!carried) deps.log("push archive too large to carry to other hosts", { app });
    const buildId = await deps.queue.enqueue({
      kind: "build",
      app,
      commit: body.commit,
      ref: body.ref,
      tarPath: body.tarPath,
      user: body.user ?? "",
    });
    deps.log("push received", { app, commit: body.commit.slice(0, 7), build: buildId });
    res.status(200).type("application/x-ndjson");
    res.setHeader("Cache-Control", "no-cache");
    res.flushHeaders();
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    await deps.queue.follow(buildId, (e) => res.write(`${JSON.stringify(e)}\n`), abort.signal);
    res.end();
  } catch (caught) {
    // Redis went away mid-push: the same one line as every other request gets.
    const err = isStoreConnectionError(caught) ? storeUnreachable(deps.settings.redisUrl) : caught;
    const message = isPaasError(err) ? err.message : `internal error: ${messageOf(err)}`;
    if (!res.headersSent)
      res
        .status(isPaasError(err) ? err.status : 500)
        .type("text/plain")
        .send(`${message}\n`);
    else {
      res.write(`${JSON.stringify({ type: "end", ok: false, message })}\n`);
      res.end();
    }
  }
}

/** Where the pre-receive hook writes commit archives (hook.ts), under the data dir. */
export const INCOMING_DIR = "incoming";

/** Constant-time compare of a secret (a hash first, so lengths leak nothing either). */
export function sameSecret(given: string, want: string): boolean {
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(want).digest();
  return crypto.timingSafeEqual(a, b);
}
