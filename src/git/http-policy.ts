import type { Request, Response } from "express";
import { authorize, type Principal } from "../auth/policy.js";
import { sourceAddress } from "../auth.js";
import type { Store } from "../store/index.js";

/** Push or fetch: what a smart-HTTP git request asks for (receive-pack is a push). */
export function gitAction(req: Pick<Request, "path" | "originalUrl">): "git:push" | "git:fetch" {
  const service = new URL(req.originalUrl, "http://x").searchParams.get("service");
  return req.path.endsWith("/git-receive-pack") || service === "git-receive-pack" ? "git:push" : "git:fetch";
}

/**
 * The policy for a git request on `app` (the principal comes from requireAuth). Answers 403
 * with the reason and returns true when denied; records the push itself in the audit trail.
 */
export async function gitDenied(store: Store, req: Request, res: Response, app: string): Promise<boolean> {
  const principal = res.locals.principal as Principal | undefined;
  const action = gitAction(req);
  const d = authorize(principal, action, await store.access.get(app));
  const addr = sourceAddress(req);
  if (!d.allow) {
    if (action === "git:push" && req.method === "POST")
      await store.audit.record({
        user: principal?.user ?? "-",
        addr,
        action: "git push",
        app,
        result: "403 denied",
      });
    res.status(403).type("text/plain").send(`${d.reason} (app ${app})\n`);
    return true;
  }
  if (action === "git:push" && req.method === "POST")
    await store.audit.record({
      user: principal?.user ?? "-",
      addr,
      action: "git push",
      app,
      result: "accepted",
    });
  return false;
}
