import type { Readable } from "node:stream";
import type { AppName } from "../../names.js";
import { type RunRequest, STDERR, STDOUT } from "../../run-protocol.js";
import type { Release } from "../../store/releases.js";
import type { OneOff, OneOffs } from "../oneoff.js";

// `paas run` behind one interface: the API's run socket and the detached route use only
// this. `LocalRunner`: the one-off is a container on this process's engine (docker
// scheduler; and what a swarm node's worker runs for the relay). `RelayRunner`
// (relay-runner.ts): swarm mode, the API puts the run in Redis for the worker of the node it
// is placed on and talks to Redis only.

export type OutputTag = typeof STDOUT | typeof STDERR;

/** Where a run's output goes. A returned promise means: send no more until it settles (slow client). */
export interface RunIo {
  output(tag: OutputTag, data: Buffer): Promise<void> | undefined;
}

/** A started one-off, attached. */
export interface RunHandle {
  readonly dyno: string;
  stdin(data: Buffer): void;
  /** Close the command's stdin. */
  eof(): void;
  resize(cols: number, rows: number): void;
  /** The exit code once the command ended and its output was passed on; rejects when the run broke off. */
  readonly exit: Promise<number>;
  /** The client went away (or the platform stops): the container goes. */
  abort(reason: string): Promise<void>;
}

/** What a run is of, settled before the client's socket is upgraded (so mistakes are a 4xx). */
export interface RunTarget {
  release: Release;
  /** Swarm: the node it is placed on. */
  node?: { id: string; hostname: string };
}

export interface OneOffRunner {
  prepare(app: AppName): Promise<RunTarget>;
  /** Create, attach and start; resolves once the command runs. */
  attach(app: AppName, target: RunTarget, req: RunRequest, io: RunIo): Promise<RunHandle>;
  /** `paas run --detach`: created and started, nobody attached. */
  detached(app: AppName, req: RunRequest): Promise<{ dyno: string; release: string }>;
}

/** One-offs as containers on this process's engine (OneOffs). */
export class LocalRunner implements OneOffRunner {
  constructor(private readonly oneOffs: OneOffs) {}

  async prepare(app: AppName): Promise<RunTarget> {
    return { release: await this.oneOffs.currentRelease(app) };
  }

  async detached(app: AppName, req: RunRequest): Promise<{ dyno: string; release: string }> {
    const o = await this.oneOffs.create(app, {
      command: req.command,
      env: req.env,
      memory: req.memory,
      image: req.image ?? undefined,
      mode: "detached",
    });
    try {
      await this.oneOffs.start(o);
    } catch (err) {
      await this.oneOffs.remove(o).catch(() => {});
      throw err;
    }
    return { dyno: o.dyno, release: o.release };
  }

  async attach(app: AppName, target: RunTarget, req: RunRequest, io: RunIo): Promise<RunHandle> {
    const { oneOffs } = this;
    const o = await oneOffs.create(
      app,
      {
        command: req.command,
        env: req.env,
        memory: req.memory,
        tty: req.tty,
        term: req.term,
        image: req.image ?? undefined,
        mode: "attached",
      },
      target.release,
    );
    // Tells the reaper a client still holds the container.
    const unhold = oneOffs.hold(o);
    try {
      const stdio = await oneOffs.attach(o, req.tty);
      const outputDone = Promise.all([pump(stdio.stdout, STDOUT, io), pump(stdio.stderr, STDERR, io)]);
      await oneOffs.start(o);
      if (req.tty && req.cols && req.rows) await oneOffs.resize(o, req.cols, req.rows).catch(() => {});
      return new LocalHandle(oneOffs, o, stdio, outputDone, unhold, req.tty);
    } catch (err) {
      unhold();
      await oneOffs.remove(o).catch(() => {});
      throw err;
    }
  }
}

class LocalHandle implements RunHandle {
  readonly dyno: string;
  readonly exit: Promise<number>;
  private resizing = false;
  private pendingSize: { cols: number; rows: number } | undefined;
  private done = false;

  constructor(
    private readonly oneOffs: OneOffs,
    private readonly o: OneOff,
    private readonly stdio: Awaited<ReturnType<OneOffs["attach"]>>,
    outputDone: Promise<unknown>,
    private readonly unhold: () => void,
    private readonly tty: boolean,
  ) {
    this.dyno = o.dyno;
    this.exit = (async () => {
      try {
        const code = await oneOffs.wait(o);
        // Output normally ends with the container; a stream that does not say so is not waited on long.
        await Promise.race([outputDone, new Promise((r) => setTimeout(r, 2000))]);
        return code;
      } finally {
        this.finish();
      }
    })();
    // Whoever waits on exit sees a failure; no one waiting must not crash the process.
    this.exit.catch(() => {});
  }

  stdin(data: Buffer): void {
    this.stdio.stdin.write(data);
  }

  eof(): void {
    this.stdio.stdin.end();
  }

  /**
   * Resizes go to Docker one at a time, and only the newest waiting one is sent: two calls
   * in flight may land in either order (`stty cols 77 rows 22` is two changes), leaving the
   * container at the older size.
   */
  resize(cols: number, rows: number): void {
    if (!this.tty) return;
    this.pendingSize = { cols, rows };
    if (this.resizing) return;
    this.resizing = true;
    void (async () => {
      while (this.pendingSize && !this.done) {
        const size = this.pendingSize;
        this.pendingSize = undefined;
        await this.oneOffs.resize(this.o, size.cols, size.rows).catch(() => {});
      }
      this.resizing = false;
    })();
  }

  async abort(): Promise<void> {
    this.finish();
  }

  /** Detach, let the reaper forget it, remove the container (kills it if it still runs). */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.stdio.close();
    this.unhold();
    void this.oneOffs.remove(this.o).catch(() => {});
  }
}

/** Copy one output stream to `io`, pausing while it asks to wait. */
function pump(stream: Readable, tag: OutputTag, io: RunIo): Promise<void> {
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      const wait = io.output(tag, chunk);
      if (wait) {
        stream.pause();
        void wait.then(
          () => stream.resume(),
          () => stream.resume(),
        );
      }
    });
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", () => resolve());
  });
}
