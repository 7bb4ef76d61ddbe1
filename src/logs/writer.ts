import type { LogStreamStore, StoredLine } from "../store/log-stream.js";
import { rfc3339, type Source, splitMessage } from "./line.js";

/** Where lines go: the router, the collector and the platform's event points all write here. */
export interface AppLogSink {
  /** Queue one line for the app's stream; returns at once (batched, never blocks). */
  write(app: string, source: Source, process: string, message: string, ts?: string): void;
}

/**
 * Platform events in the app's stream as `paas[<process>]` lines: emit(app, "api",
 * "Release v7 created"). Messages name config keys, never their values.
 */
export interface EventSink {
  emit(app: string, process: string, message: string): void;
}

/** Lines queued while Redis is slow or away; beyond this the oldest go (and are counted). */
const MAX_PENDING = 100_000;

/**
 * Batches every line written in one turn of the event loop into one Redis round trip, one
 * round trip in flight at a time. Writers never wait: a slow Redis costs memory up to
 * MAX_PENDING lines, then the oldest lines.
 */
export class StreamWriter implements AppLogSink, EventSink {
  private pending: { app: string; line: StoredLine }[] = [];
  private cursors = new Map<string, string>();
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private lastMicros = 0;
  dropped = 0;
  written = 0;

  constructor(
    private readonly store: LogStreamStore,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  write(app: string, source: Source, process: string, message: string, ts?: string): void {
    const at = ts ?? this.now();
    for (const piece of splitMessage(message))
      this.pending.push({ app, line: { ts: at, source, process, message: piece } });
    if (this.pending.length > MAX_PENDING) {
      const over = this.pending.length - MAX_PENDING;
      this.pending.splice(0, over);
      this.dropped += over;
    }
    this.schedule();
  }

  emit(app: string, process: string, message: string): void {
    this.write(app, "paas", process, message);
  }

  /** The collector's position in a container's output, stored with the lines before it. */
  cursor(containerId: string, dockerTs: string): void {
    this.cursors.set(containerId, dockerTs);
    this.schedule();
  }

  /** Write out everything queued so far. */
  async flush(): Promise<void> {
    while (this.flushing || this.pending.length > 0 || this.cursors.size > 0) {
      if (this.flushing) await this.flushing;
      else await this.flushOnce();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flushOnce();
    });
  }

  private flushOnce(): Promise<void> {
    if (this.flushing) return this.flushing;
    const batch = this.pending;
    const cursors = this.cursors;
    if (batch.length === 0 && cursors.size === 0) return Promise.resolve();
    this.pending = [];
    this.cursors = new Map();
    this.flushing = this.store
      .append(batch, cursors)
      .then(() => {
        this.written += batch.length;
      })
      .catch((err) => {
        // Put them back in front (bounded in write()), and try again shortly.
        this.pending = batch.concat(this.pending);
        for (const [k, v] of cursors) if (!this.cursors.has(k)) this.cursors.set(k, v);
        this.onError(err);
        return new Promise<void>((r) => setTimeout(r, 500));
      })
      .finally(() => {
        this.flushing = null;
        if (this.pending.length > 0 || this.cursors.size > 0) this.schedule();
      });
    return this.flushing;
  }

  /** Now, with microseconds that never go backwards within this process. */
  private now(): string {
    const ms = Date.now();
    const hr = Number(process.hrtime.bigint() / 1000n) % 1000;
    let micros = ms * 1000 + hr;
    if (micros <= this.lastMicros) micros = this.lastMicros + 1;
    this.lastMicros = micros;
    return rfc3339(new Date(Math.floor(micros / 1000)), micros % 1000);
  }
}
