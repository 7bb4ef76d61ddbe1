import type { NewJob } from "../../builder/queue.js";
import { DeployFailed, PaasError } from "../../errors.js";
import type { Services } from "../services.js";

/**
 * The API's one way to change what runs: enqueue a job for a worker (it runs in the app's
 * job order, under the app's lock) and wait for its outcome. Resolves with the job's
 * result (an operation's answer, e.g. the new formation); a failure keeps its error code
 * (a 400 stays a 400) with the job's last lines as details, and a deploy that failed is a
 * DeployFailed with the log tail.
 */
export async function runJob<T = unknown>(s: Services, job: NewJob): Promise<T> {
  const buildId = await s.queue.enqueue(job);
  const lines: string[] = [];
  const end = await s.queue.follow(buildId, (e) => {
    if (e.type === "line") {
      lines.push(e.text);
      if (lines.length > 30) lines.shift();
    }
  });
  if (end.type !== "end" || end.ok) return (end.type === "end" ? end.result : undefined) as T;
  if (end.code && end.code !== "deploy_failed") throw new PaasError(end.code, end.message, detailsOf(lines));
  throw new DeployFailed(end.message, lines);
}

/** Release jobs (config change) and rollbacks: wait until the release is live. */
export async function waitForJob(
  s: Services,
  job:
    | { kind: "release"; app: string; description: string; user: string }
    | { kind: "rollback"; app: string; target: number | null; user: string },
): Promise<void> {
  await runJob(s, job);
}

const detailsOf = (lines: string[]) => (lines.length > 0 ? lines : undefined);
