import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { Lease } from "./lease.js";

// Swarm liveness: the worker that probes a task (it must be on the overlay) is usually not on
// the task's node, and only an engine of that node can kill its container. So the probing
// worker files a restart request under the task's node, and the worker acting for that node
// (the holder of the node's lease) claims it and kills the container. A task gets one request
// (its mark), and a request is claimed once (HDEL answers 1 to one caller only).

/** A liveness failure to act on: kill `container` (task `task`) on the node it is filed under. */
export interface TaskRestart {
  app: string;
  /** The dyno, web.2 (the task's slot). */
  process: string;
  task: string;
  container: string;
  check: string;
  attempts: number;
  /** Epoch ms when filed: an unclaimed request goes stale after REQUEST_TTL_MS. */
  at: number;
}

/** A request not claimed by then is dropped (the task stays out of the route). */
export const REQUEST_TTL_MS = 60_000;
/** One request per task within this time: its container is gone long before. */
const MARK_TTL_MS = 5 * 60_000;

// File once per task: the mark first, then the request, in one step.
const FILE = `if redis.call('set', KEYS[2], '1', 'PX', ARGV[3], 'NX') then
  redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
  redis.call('pexpire', KEYS[1], ARGV[4])
  return 1 end return 0`;

export class TaskRestartStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** File a restart of a task under its node: false if one was filed for this task already. */
  async request(node: string, r: TaskRestart): Promise<boolean> {
    const filed = await this.redis.eval(
      FILE,
      2,
      this.keys.taskRestarts(node),
      this.keys.taskRestartMark(r.task),
      r.task,
      JSON.stringify(r),
      String(MARK_TTL_MS),
      String(REQUEST_TTL_MS * 2),
    );
    return Number(filed) === 1;
  }

  /** The node's requests, oldest first (unreadable entries are dropped). */
  async pending(node: string): Promise<TaskRestart[]> {
    const raw = await this.redis.hgetall(this.keys.taskRestarts(node));
    const out: TaskRestart[] = [];
    for (const [task, json] of Object.entries(raw)) {
      try {
        out.push(JSON.parse(json) as TaskRestart);
      } catch {
        await this.redis.hdel(this.keys.taskRestarts(node), task);
      }
    }
    return out.sort((a, b) => a.at - b.at);
  }

  /** Take the request for this task: true for exactly one caller. */
  async claim(node: string, task: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.taskRestarts(node), task)) === 1;
  }

  /** The lease of the one worker acting for a node (held by `holder` once taken). */
  lease(node: string, holder: string): Lease {
    return new Lease(this.redis, this.keys.taskRestartLease(node), holder);
  }

  /** Whether some worker acts for the node now (its lease is held). */
  async hasWorker(node: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.taskRestartLease(node))) === 1;
  }
}
