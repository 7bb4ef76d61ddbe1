// The build queue's job data: a small serialisable union. The processor is a thin
// dispatcher from these to plain functions.

export interface BuildJob {
  kind: "build";
  buildId: string;
  app: string;
  seq: number;
  commit: string;
  ref: string;
  /** `git archive` of the pushed commit, written by the receive hook. */
  tarPath: string;
  user: string;
}

/** A new release of the current image with new config (config change, restart). */
export interface ReleaseJob {
  kind: "release";
  buildId: string;
  app: string;
  seq: number;
  description: string;
  user: string;
}

/** Roll back to an earlier release (null: the one before the current). */
export interface RollbackJob {
  kind: "rollback";
  buildId: string;
  app: string;
  seq: number;
  target: number | null;
  user: string;
}

export type JobData = BuildJob | ReleaseJob | RollbackJob;

export const QUEUE_NAME = "builds";
