import crypto from "node:crypto";
import type { Redis } from "ioredis";
import { type ErrorCode, PaasError } from "../../errors.js";
import type { AppName } from "../../names.js";
import type { RunRequest } from "../../run-protocol.js";
import type { Store } from "../../store/index.js";
import { type RelayMessage, RunRelayStore } from "../../store/run-relay.js";
import { runnableRelease } from "../oneoff.js";
import { chooseNode, WORKER_HINT } from "./placement.js";
import type { OneOffRunner, OutputTag, RunHandle, RunIo, RunTarget } from "./runner.js";

// Swarm mode's `paas run` as the API sees it: Redis only. The run is placed on a node
// (placement.ts), put in that node's request list, and the node's worker (node-worker.ts)
// creates, attaches and starts the container there and relays it over two Redis streams.
// Both ends beat while the run lives; an end silent for SILENT_MS is dead, so a worker that
// dies mid-run ends the session with a clear error within that bound.

/** Each end of a run writes at least this often (a beat when it has nothing else). */
export const RELAY_BEAT_MS = 2_000;
/** An end not heard from for this long is gone. */
export const RELAY_SILENT_MS = 10_000;
/** Output bytes the worker may send ahead of what the API passed on to the client. */
export const RELAY_WINDOW = 2 << 20;
/** The API acknowledges passed-on output at least every this many bytes. */
export const RELAY_ACK_EVERY = 256 << 10;
/** Process type whose `ps:placement` constraints place one-offs. */
export const RUN_PLACEMENT_TYPE = "run";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

export class RelayRunner implements OneOffRunner {
  private readonly relay: RunRelayStore;

  constructor(
    private readonly store: Store,
    private readonly log: Log,
  ) {
    this.relay = new RunRelayStore(store.redis, store.keys);
  }

  async prepare(app: AppName): Promise<RunTarget> {
    const release = await runnableRelease(this.store, app);
    const node = chooseNode(
      await this.relay.nodes(),
      await this.relay.workers(),
      await this.store.placement.get(app, RUN_PLACEMENT_TYPE),
      Date.now(),
    );
    return { release, node: { id: node.id, hostname: node.hostname } };
  }

  async attach(app: AppName, target: RunTarget, req: RunRequest, io: RunIo): Promise<RunHandle> {
    const session = await this.open(app, target, req, "attached", io);
    return session.started;
  }

  async detached(app: AppName, req: RunRequest): Promise<{ dyno: string; release: string }> {
    const target = await this.prepare(app);
    const session = await this.open(app, target, req, "detached", { output: () => undefined });
    const handle = await session.started;
    session.close();
    return { dyno: handle.dyno, release: `v${target.release.version}` };
  }

  private async open(
    app: AppName,
    target: RunTarget,
    req: RunRequest,
    mode: "attached" | "detached",
    io: RunIo,
  ): Promise<RelaySession> {
    const node = target.node ?? (await this.prepare(app)).node!;
    const id = crypto.randomUUID();
    const session = new RelaySession(this.relay, this.relay.blockingConnection(), id, node.hostname, io);
    await this.relay
      .request({
        id,
        app,
        node: node.id,
        release: target.release.version,
        mode,
        run: req,
        deadline: Date.now() + RELAY_SILENT_MS,
      })
      .catch((err) => {
        session.close();
        throw err;
      });
    this.log("one-off requested", { app, node: node.hostname, run: id, mode });
    session.begin();
    return session;
  }
}

/** The API's end of one relayed run. */
class RelaySession implements RunHandle {
  dyno = "";
  readonly started: Promise<RunHandle>;
  readonly exit: Promise<number>;
  private resolveStarted!: (h: RunHandle) => void;
  private rejectStarted!: (e: Error) => void;
  private resolveExit!: (code: number) => void;
  private rejectExit!: (e: Error) => void;
  private closed = false;
  private isStarted = false;
  private beat: NodeJS.Timeout | null = null;
  private consumed = 0;
  private acked = 0;

  constructor(
    private readonly relay: RunRelayStore,
    private readonly conn: Redis,
    private readonly id: string,
    private readonly node: string,
    private readonly io: RunIo,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    this.exit = new Promise((resolve, reject) => {
      this.resolveExit = resolve;
      this.rejectExit = reject;
    });
    this.started.catch(() => {});
    this.exit.catch(() => {});
  }

  begin(): void {
    this.beat = setInterval(() => this.send("beat"), RELAY_BEAT_MS);
    void this.loop();
  }

  stdin(data: Buffer): void {
    this.send("stdin", { data });
  }

  eof(): void {
    this.send("eof");
  }

  resize(cols: number, rows: number): void {
    this.send("resize", { json: { cols, rows } });
  }

  async abort(reason: string): Promise<void> {
    if (this.closed) return;
    // The worker removes the container on "close" (or when our beats stop).
    await this.relay.send(this.id, "in", "close", { json: { reason } }).catch(() => {});
    this.fail(new PaasError("internal", reason));
  }

  /** Stop reading (detached: the run is the worker's now). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.beat) clearInterval(this.beat);
    this.conn.disconnect();
    void this.relay.end(this.id).catch(() => {});
  }

  private send(type: string, body?: { data?: Buffer; json?: Record<string, unknown> }): void {
    if (this.closed) return;
    void this.relay.send(this.id, "in", type, body).catch(() => {});
  }

  private fail(err: Error): void {
    this.rejectStarted(err);
    this.rejectExit(err);
    this.close();
  }

  private async loop(): Promise<void> {
    let after = "0";
    let heard = Date.now();
    try {
      while (!this.closed) {
        const msgs = await this.relay.read(this.conn, this.id, "out", after, RELAY_BEAT_MS);
        if (this.closed) return;
        for (const m of msgs) {
          after = m.id;
          if (!(await this.handle(m))) return;
        }
        // After passing them on: a slow client is not a silent worker.
        if (msgs.length > 0) heard = Date.now();
        if (Date.now() - heard > RELAY_SILENT_MS) {
          const s = RELAY_SILENT_MS / 1000;
          this.fail(
            this.isStarted
              ? new PaasError(
                  "unavailable",
                  `the worker on node ${this.node} stopped answering for ${s}s: the run is over (its container is removed when that worker comes back)`,
                )
              : new PaasError(
                  "unavailable",
                  `no paas worker on node ${this.node} took the run within ${s}s: ${WORKER_HINT}`,
                ),
          );
          return;
        }
      }
    } catch (err) {
      if (!this.closed) this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** One message from the worker; false once the run is over. */
  private async handle(m: RelayMessage): Promise<boolean> {
    switch (m.type) {
      case "started":
        this.dyno = String(m.json?.dyno ?? "");
        this.isStarted = true;
        this.resolveStarted(this);
        return true;
      case "out": {
        const data = m.data ?? Buffer.alloc(0);
        const wait = this.io.output(Number(m.json?.tag ?? 1) as OutputTag, data);
        if (wait) await wait;
        this.consumed += data.length;
        if (this.consumed - this.acked >= RELAY_ACK_EVERY) {
          this.acked = this.consumed;
          this.send("ack", { json: { bytes: this.consumed } });
        }
        return true;
      }
      case "exit":
        this.resolveExit(Number(m.json?.code ?? 1));
        this.close();
        return false;
      case "error": {
        const code = (m.json?.code as ErrorCode | undefined) ?? "internal";
        this.fail(new PaasError(code, String(m.json?.message ?? "the run failed on its node")));
        return false;
      }
      default:
        return true;
    }
  }
}
