// The build queue's job data: a small serialisable union. The processor is a thin
// dispatcher from these to plain functions.

import type { CommandRequest } from "../plugins/types.js";
import type { RuntimeOp } from "../runtime/operations.js";
import type { Limits } from "../store/resources.js";
import type { RenameJob } from "./app-rename.js";
import type { ImageJob } from "./image-release.js";

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

/** What an operation job asks of a worker: a runtime change, or builder housekeeping. */
export type Operation =
  | RuntimeOp
  | { op: "purge-cache" }
  | { op: "stack-build" }
  /** resources:set: checked against the engine, saved, applied; rolled back if it cannot start. */
  | { op: "resources"; type: string; limits: Limits }
  /** A plugin command whose manifest says `worker: true` (it changes what runs). */
  | { op: "plugin-command"; plugin: string; request: CommandRequest };

/**
 * A change to what runs that is not a new release (scale, restart, stop, destroy, purge the
 * build cache, rebuild the stack). The API checked it and waits for the outcome, whose
 * `result` it answers with. To add one: a member of Operation, a case in runOperation
 * (builder/operations.ts), and an API function in api/operations.ts that checks and calls runJob.
 */
export interface OperationJob {
  kind: "operation";
  buildId: string;
  /** The app, or STACK_APP for platform-wide work (one at a time, like an app's jobs). */
  app: string;
  seq: number;
  user: string;
  operation: Operation;
}

/** The job "app" of platform-wide operations: not a valid app name, so never an app's. */
export const STACK_APP = "-stack";

export type { ImageJob, RenameJob };

export type JobData = BuildJob | ReleaseJob | RollbackJob | OperationJob | ImageJob | RenameJob;

export const QUEUE_NAME = "builds";
