import { DeployFailed } from "../../errors.js";
import type { Services } from "../services.js";

/** Enqueue a release job and wait for its outcome; a failure becomes a DeployFailed with the log tail. */
export async function waitForJob(
  s: Services,
  job:
    | { kind: "release"; app: string; description: string; user: string }
    | { kind: "rollback"; app: string; target: number | null; user: string },
): Promise<void> {
  const buildId = await s.queue.enqueue(job);
  const lines: string[] = [];
  const end = await s.queue.follow(buildId, (e) => {
    if (e.type === "line") {
      lines.push(e.text);
      if (lines.length > 30) lines.shift();
    }
  });
  if (end.type === "end" && !end.ok) throw new DeployFailed(end.message, lines);
}
