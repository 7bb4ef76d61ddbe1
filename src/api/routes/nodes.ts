import express from "express";
import { STACK_APP } from "../../builder/jobs.js";
import { invalid } from "../../errors.js";
import { type ClusterOp, parseConstraint } from "../../runtime/swarm/nodes.js";
import { appOf } from "../app-context.js";
import { handle } from "../errors.js";
import type { Services } from "../services.js";
import { runJob } from "./wait.js";

// Swarm nodes and placement. The API has no Docker: a worker (on a manager node) asks the
// Swarm, through the queue like every other change to what runs.

export function nodeRoutes(s: Services): express.Router {
  const r = express.Router();
  const user = (res: express.Response) => String(res.locals.user ?? "");
  const cluster = (res: express.Response, op: ClusterOp) =>
    runJob(s, {
      kind: "operation",
      app: STACK_APP,
      user: user(res),
      operation: { op: "cluster", cluster: op },
    });

  r.get(
    "/nodes",
    handle(async (_req, res) => {
      res.json(await cluster(res, { action: "list" }));
    }),
  );

  r.get(
    "/nodes/join-command",
    handle(async (_req, res) => {
      res.json(await cluster(res, { action: "join-command" }));
    }),
  );

  for (const action of ["drain", "activate"] as const) {
    r.post(
      `/nodes/:node/${action}`,
      handle(async (req, res) => {
        const node = String(req.params.node ?? "");
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(node)) {
          throw invalid(`"${node}" is not a node: give its hostname or id as paas nodes lists it`);
        }
        res.json(await cluster(res, { action, node }));
      }),
    );
  }

  r.get(
    "/apps/:app/placement",
    handle(async (_req, res) => {
      res.json(await s.store.placement.all(appOf(res).name));
    }),
  );

  r.put(
    "/apps/:app/placement",
    handle(async (req, res) => {
      const { name } = appOf(res);
      const body = (req.body ?? {}) as { type?: unknown; constraints?: unknown };
      if (typeof body.type !== "string" || !/^[a-z0-9_-]{1,63}$/i.test(body.type)) {
        throw invalid('send {"type": "web", "constraints": ["node.labels.zone==a"]} (type: a process type)');
      }
      if (!Array.isArray(body.constraints) || body.constraints.some((c) => typeof c !== "string")) {
        throw invalid('"constraints" must be a list of strings like "node.labels.zone==a" (empty: none)');
      }
      const constraints = (body.constraints as string[]).map(parseConstraint);
      const done = await runJob<{ placement: Record<string, string[]> }>(s, {
        kind: "operation",
        app: name,
        user: user(res),
        operation: { op: "placement", type: body.type.toLowerCase(), constraints },
      });
      res.json(done.placement);
    }),
  );
  return r;
}
