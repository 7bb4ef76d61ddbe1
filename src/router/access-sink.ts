import type { LogStreamStore, StoredLine } from "../store/log-stream.js";
import type { AccessRecord, AccessSink } from "./access-log.js";

// The default AccessSink: access lines go into each app's log stream in Redis (where
// `paas logs` reads them, as `paas[router]: at=info ...`), batched: lines wait for the end
// of the event-loop turn (or BATCH lines), then one pipeline carries them all. One write
// at a time; what arrives meanwhile waits for the next. When Redis is slow or gone the
// buffer is bounded and the overflow dropped (and counted): logging never holds a request.

const BATCH = 512;
const MAX_PENDING = 20_000;

export class StreamAccessSink implements AccessSink {
  private pending: { app: string; line: StoredLine }[] = [];
  private scheduled = false;
  private writing: Promise<void> | null = null;
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  /** Writes that failed (their lines are lost). */
  failures = 0;

  constructor(
    private readonly logs: Pick<LogStreamStore, "append">,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  write(app: string, line: string, _record?: AccessRecord): void {
    // Requests no app claimed have no stream to go to.
    if (app === "") return;
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push({
      app,
      line: { ts: timestamp(Date.now()), source: "paas", process: "router", message: line },
    });
    if (this.pending.length >= BATCH) this.kick();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.kick);
    }
  }

  async flush(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (this.writing) await this.writing;
      else this.kick();
    }
  }

  private readonly kick = (): void => {
    this.scheduled = false;
    if (this.writing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.logs
      .append(batch)
      .catch((err) => {
        this.failures++;
        this.onError(err);
      })
      .finally(() => {
        this.writing = null;
        if (this.pending.length > 0) this.kick();
      });
  };
}

let lastMs = -1;
let lastPrefix = "";

/** RFC 3339 with microseconds (the log stream's format), built once per millisecond. */
function timestamp(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastPrefix = `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
  }
  return lastPrefix;
}
