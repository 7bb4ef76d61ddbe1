import type { RouterLinesStore } from "../store/router-lines.js";
import type { AccessRecord, AccessSink } from "./access-log.js";

// The default AccessSink: access lines go into each app's log stream in Redis (where
// `paas logs` reads them, as `paas[router]: at=info ...`), batched: lines wait up to
// FLUSH_MS (or BATCH lines), then one command per app carries them all
// (store/router-lines.ts). Not per event-loop turn: under load a turn holds a handful of
// requests, and a Redis round trip per turn (a write and a read on its socket) cost about
// as much as proxying the requests themselves. One write at a time; what arrives
// meanwhile waits for the next.
// When Redis is slow or gone the buffer is bounded and the overflow dropped (and counted):
// logging never holds a request.

const BATCH = 1_024;
/** How long a line may wait: it shows in `paas logs` within this. */
const FLUSH_MS = 50;
const MAX_PENDING = 20_000;

export class StreamAccessSink implements AccessSink {
  /** app -> [ts, line, ts, line, ...] */
  private pending = new Map<string, string[]>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private writing: Promise<void> | null = null;
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  /** Writes that failed (their lines are lost). */
  failures = 0;

  constructor(
    private readonly lines: Pick<RouterLinesStore, "append">,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  write(app: string, line: string, _record?: AccessRecord): void {
    // Requests no app claimed have no stream to go to.
    if (app === "") return;
    if (this.count >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    let list = this.pending.get(app);
    if (list === undefined) {
      list = [];
      this.pending.set(app, list);
    }
    list.push(timestamp(Date.now()), line);
    this.count++;
    if (this.count >= BATCH) this.kick();
    else if (this.timer === undefined) this.timer = setTimeout(this.kick, FLUSH_MS);
  }

  async flush(): Promise<void> {
    while (this.writing || this.count > 0) {
      if (this.writing) await this.writing;
      else this.kick();
    }
  }

  private readonly kick = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.count === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.count = 0;
    this.writing = this.lines
      .append(batch)
      .catch((err) => {
        this.failures++;
        this.onError(err);
      })
      .finally(() => {
        this.writing = null;
        if (this.count > 0) this.kick();
      });
  };
}

let lastMs = -1;
let lastStamp = "";

/** RFC 3339 with microseconds (the log stream's format), built once per millisecond. */
function timestamp(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastStamp = `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
  }
  return lastStamp;
}
