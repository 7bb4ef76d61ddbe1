import type { Redis } from "ioredis";
import type { RunRequest } from "../run-protocol.js";
import type { Keys } from "./keys.js";

// Swarm mode's `paas run` goes API -> Redis -> the worker of the node it is placed on, never
// to a Docker engine from the API (runtime/run-relay/). This is every Redis key it uses:
// - run-workers: node id -> the latest heartbeat of a worker on that node (hash; stale ones
//   are ignored by readers and dropped after a while);
// - run-nodes: the swarm's nodes as a manager's worker last listed them (JSON, expires);
// - run-requests:<node>: run requests waiting for that node's worker (list, BLPOP);
// - run-out:<run>, run-in:<run>: the run's two streams (worker -> API: started, output, exit,
//   error, beats; API -> worker: stdin, resize, eof, acks, close, beats), expiring;
// - run-oneoffs:<node>: the one-offs running on that node, for `paas ps` (JSON, expires).

/** A worker on a node says it is there (and can take runs) at least this often. */
export const WORKER_BEAT_MS = 3_000;
/** A node's worker not heard from for this long is not live. */
export const WORKER_LIVE_MS = 10_000;
/** A stream idle this long (no entry at all) is gone: its other end is dead. */
const STREAM_TTL_S = 600;

/** A swarm node as a manager's worker lists it. */
export interface RunNode {
  id: string;
  hostname: string;
  role: string;
  state: string;
  availability: string;
  labels: Record<string, string>;
  /** Tasks meant to run there. */
  tasks: number;
}

/** A worker's heartbeat: which node (engine) it runs runs on. */
export interface WorkerBeat {
  node: string;
  hostname: string;
  /** Its engine is a swarm manager. */
  manager: boolean;
  /** When it was sent (ms since the epoch). */
  at: number;
}

/** A run request for a node's worker. */
export interface RelayRequest {
  id: string;
  app: string;
  node: string;
  /** The release version the API resolved. */
  release: number;
  mode: "attached" | "detached";
  run: RunRequest;
  /** A worker taking it after this (ms since the epoch) drops it: the API gave up. */
  deadline: number;
}

/** One entry of a run's stream. */
export interface RelayMessage {
  /** Entry id (to read on from, and to trim up to). */
  id: string;
  type: string;
  data?: Buffer;
  json?: Record<string, unknown>;
}

/** A one-off running on a node, as `paas ps` shows it. */
export interface NodeOneOff {
  app: string;
  name: string;
  command: string;
  release: string;
  startedAt: string | null;
  container: string;
  node: string;
}

export class RunRelayStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** A connection of its own for blocking reads (BLPOP, XREAD BLOCK); the caller closes it. */
  blockingConnection(): Redis {
    const c = this.redis.duplicate({ maxRetriesPerRequest: 1 });
    c.on("error", () => {});
    return c;
  }

  async beat(b: WorkerBeat): Promise<void> {
    await this.redis.hset(this.keys.runWorkers(), b.node, JSON.stringify(b));
  }

  async forgetWorker(node: string): Promise<void> {
    await this.redis.hdel(this.keys.runWorkers(), node);
  }

  /** Every node's latest heartbeat (live or not: see WORKER_LIVE_MS). */
  async workers(): Promise<WorkerBeat[]> {
    const all = await this.redis.hgetall(this.keys.runWorkers());
    return Object.values(all).map((v) => JSON.parse(v) as WorkerBeat);
  }

  async publishNodes(nodes: RunNode[], ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.runNodes(), JSON.stringify({ at: Date.now(), nodes }), "PX", ttlMs);
  }

  /** The nodes as last listed by a manager's worker; null when none did lately. */
  async nodes(): Promise<RunNode[] | null> {
    const raw = await this.redis.get(this.keys.runNodes());
    return raw ? (JSON.parse(raw) as { nodes: RunNode[] }).nodes : null;
  }

  /** Queue a run for a node's worker (the list goes when no worker ever takes it). */
  async request(r: RelayRequest): Promise<void> {
    const key = this.keys.runRequests(r.node);
    await this.redis.multi().rpush(key, JSON.stringify(r)).pexpire(key, 120_000).exec();
  }

  /** Wait up to `timeoutS` for the next run request for `node` (on a blocking connection). */
  async takeRequest(conn: Redis, node: string, timeoutS: number): Promise<RelayRequest | null> {
    const got = await conn.blpop(this.keys.runRequests(node), timeoutS);
    return got ? (JSON.parse(got[1]) as RelayRequest) : null;
  }

  /** Append to a run's stream: `dir` "out" (worker -> API) or "in" (API -> worker). */
  async send(
    run: string,
    dir: "out" | "in",
    type: string,
    body?: { data?: Buffer; json?: Record<string, unknown> },
  ): Promise<void> {
    const key = dir === "out" ? this.keys.runOut(run) : this.keys.runIn(run);
    const fields: (string | Buffer)[] = ["t", type];
    if (body?.data) fields.push("d", body.data);
    if (body?.json) fields.push("j", JSON.stringify(body.json));
    await this.redis
      .multi()
      .xadd(key, "*", ...fields)
      .expire(key, STREAM_TTL_S)
      .exec();
  }

  /**
   * Entries of a run's stream after `after` ("0": from the start), waiting up to `blockMs`
   * for the first (on a blocking connection). Read entries are trimmed away.
   */
  async read(
    conn: Redis,
    run: string,
    dir: "out" | "in",
    after: string,
    blockMs: number,
  ): Promise<RelayMessage[]> {
    const key = dir === "out" ? this.keys.runOut(run) : this.keys.runIn(run);
    const res = (await conn.xreadBuffer("COUNT", 256, "BLOCK", blockMs, "STREAMS", key, after)) as
      | [Buffer, [Buffer, Buffer[]][]][]
      | null;
    if (!res || res.length === 0) return [];
    const out: RelayMessage[] = [];
    for (const [id, fields] of res[0][1]) {
      const msg: RelayMessage = { id: id.toString(), type: "" };
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = fields[i].toString();
        if (name === "t") msg.type = fields[i + 1].toString();
        else if (name === "d") msg.data = fields[i + 1];
        else if (name === "j") msg.json = JSON.parse(fields[i + 1].toString()) as Record<string, unknown>;
      }
      out.push(msg);
    }
    const last = out[out.length - 1].id;
    // What was read is not needed again: keep the stream small (MINID keeps `last` itself).
    await conn.xtrim(key, "MINID", last).catch(() => {});
    return out;
  }

  /** Both streams of a finished run. */
  async end(run: string): Promise<void> {
    await this.redis.del(this.keys.runOut(run), this.keys.runIn(run));
  }

  async publishOneOffs(node: string, list: NodeOneOff[], ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.runOneOffs(node), JSON.stringify(list), "PX", ttlMs);
  }

  /** One-offs of an app running on any of `nodes` (as their workers last published them). */
  async oneOffs(app: string, nodes: string[]): Promise<NodeOneOff[]> {
    if (nodes.length === 0) return [];
    const raws = await this.redis.mget(...nodes.map((n) => this.keys.runOneOffs(n)));
    return raws.flatMap((r) => (r ? (JSON.parse(r) as NodeOneOff[]) : [])).filter((o) => o.app === app);
  }
}
