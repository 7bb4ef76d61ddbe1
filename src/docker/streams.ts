import type Docker from "dockerode";

// Long-lived streams from the engine for the log collector: container events, followed
// output with timestamps, and live stats. Each returns a stop function; none buffers
// without bound (the caller consumes lines as they come).

export interface DockerEvent {
  Action: string;
  id: string;
  time: number;
  timeNano?: number;
  attributes: Record<string, string>;
}

export interface StatsSample {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
}

type Stop = () => void;

function destroyer(stream: NodeJS.ReadableStream): Stop {
  return () => (stream as unknown as { destroy?: () => void }).destroy?.();
}

/** Call onLine for every newline-terminated piece of a byte stream (the rest is kept). */
function lineSplitter(onLine: (line: string) => void): { push(b: Buffer): void; end(): void } {
  let partial = "";
  return {
    push(b) {
      const text = partial + b.toString("utf8");
      let start = 0;
      let nl = text.indexOf("\n", start);
      while (nl >= 0) {
        onLine(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf("\n", start);
      }
      partial = text.slice(start);
    },
    end() {
      if (partial) onLine(partial);
      partial = "";
    },
  };
}

export class ContainerStreams {
  constructor(private readonly docker: Docker) {}

  /** Follow the engine's container events matching filters; ends when the stream ends. */
  async events(
    filters: Record<string, string[]>,
    onEvent: (e: DockerEvent) => void,
    onEnd: (err?: unknown) => void,
  ): Promise<Stop> {
    const stream = (await this.docker.getEvents({
      filters: JSON.stringify(filters),
    })) as NodeJS.ReadableStream;
    const split = lineSplitter((line) => {
      try {
        const raw = JSON.parse(line) as {
          Action?: string;
          id?: string;
          time?: number;
          timeNano?: number;
          Actor?: { ID?: string; Attributes?: Record<string, string> };
        };
        onEvent({
          Action: raw.Action ?? "",
          id: raw.Actor?.ID ?? raw.id ?? "",
          time: raw.time ?? 0,
          timeNano: raw.timeNano,
          attributes: raw.Actor?.Attributes ?? {},
        });
      } catch {
        // A partial or foreign line: ignore.
      }
    });
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    stream.on("data", (b: Buffer) => split.push(b));
    stream.on("end", () => end());
    stream.on("close", () => end());
    stream.on("error", (err) => end(err));
    return destroyer(stream);
  }

  /**
   * A container's output with Docker's timestamps (RFC 3339 nano), stdout and stderr, from
   * `since` (seconds.nanos) on; follows until the container stops when `follow`.
   */
  async logs(
    id: string,
    opts: { since?: string; follow: boolean; tty: boolean },
    onLine: (ts: string, text: string) => void,
    onEnd: (err?: unknown) => void,
  ): Promise<Stop> {
    const stream = (await this.docker.getContainer(id).logs({
      stdout: true,
      stderr: true,
      follow: opts.follow as true,
      timestamps: true,
      since: opts.since as unknown as number,
    })) as unknown as NodeJS.ReadableStream | Buffer;
    const emit = (line: string) => {
      const sp = line.indexOf(" ");
      if (sp > 0) onLine(line.slice(0, sp), line.slice(sp + 1).replace(/\r$/, ""));
    };
    const out = lineSplitter(emit);
    const err = lineSplitter(emit);
    // Docker multiplexes stdout and stderr in 8-byte-headed frames unless the container has a TTY.
    let pending: Buffer = Buffer.alloc(0);
    const push = (b: Buffer) => {
      if (opts.tty) return out.push(b);
      pending = pending.length ? Buffer.concat([pending, b]) : b;
      let i = 0;
      while (i + 8 <= pending.length) {
        const len = pending.readUInt32BE(i + 4);
        if (i + 8 + len > pending.length) break;
        const payload = pending.subarray(i + 8, i + 8 + len);
        (pending[i] === 2 ? err : out).push(payload);
        i += 8 + len;
      }
      pending = pending.subarray(i);
    };
    const finish = () => {
      out.end();
      err.end();
    };
    if (Buffer.isBuffer(stream)) {
      push(stream);
      finish();
      onEnd();
      return () => {};
    }
    let ended = false;
    const end = (e?: unknown) => {
      if (ended) return;
      ended = true;
      finish();
      onEnd(e);
    };
    stream.on("data", (b: Buffer) => push(b));
    stream.on("end", () => end());
    stream.on("close", () => end());
    stream.on("error", (e) => end(e));
    return destroyer(stream);
  }

  /**
   * Attach to a container's output from its very start (`logs: true` replays what it already
   * wrote), even before it starts: the only way to read a one-off that is removed as soon as
   * it exits. No timestamps here; the caller stamps lines as they come.
   */
  async attach(
    id: string,
    tty: boolean,
    onLine: (text: string) => void,
    onEnd: (err?: unknown) => void,
  ): Promise<Stop> {
    const stream = (await this.docker.getContainer(id).attach({
      stream: true,
      stdout: true,
      stderr: true,
      logs: true,
    })) as NodeJS.ReadableStream;
    const emit = (line: string) => onLine(line.replace(/\r$/, ""));
    const out = lineSplitter(emit);
    const err = lineSplitter(emit);
    let pending: Buffer = Buffer.alloc(0);
    let ended = false;
    const end = (e?: unknown) => {
      if (ended) return;
      ended = true;
      out.end();
      err.end();
      onEnd(e);
    };
    stream.on("data", (b: Buffer) => {
      if (tty) return out.push(b);
      pending = pending.length ? Buffer.concat([pending, b]) : b;
      let i = 0;
      while (i + 8 <= pending.length) {
        const len = pending.readUInt32BE(i + 4);
        if (i + 8 + len > pending.length) break;
        (pending[i] === 2 ? err : out).push(pending.subarray(i + 8, i + 8 + len));
        i += 8 + len;
      }
      pending = pending.subarray(i);
    });
    stream.on("end", () => end());
    stream.on("close", () => end());
    stream.on("error", (e) => end(e));
    return destroyer(stream);
  }

  /** Live stats of a running container, about once a second. */
  async stats(id: string, onSample: (s: StatsSample) => void, onEnd: () => void): Promise<Stop> {
    const stream = (await this.docker.getContainer(id).stats({ stream: true })) as NodeJS.ReadableStream;
    const split = lineSplitter((line) => {
      try {
        const s = JSON.parse(line) as Docker.ContainerStats;
        onSample(sampleOf(s));
      } catch {
        // ignore a malformed sample
      }
    });
    stream.on("data", (b: Buffer) => split.push(b));
    stream.on("end", onEnd);
    stream.on("error", onEnd);
    return destroyer(stream);
  }
}

/** Docker's CPU % (as `docker stats` computes it) and memory without the page cache. */
export function sampleOf(s: Docker.ContainerStats): StatsSample {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const stats = (s.memory_stats?.stats ?? {}) as Record<string, number>;
  const cache = stats.inactive_file ?? stats.total_inactive_file ?? 0;
  const used = Math.max(0, (s.memory_stats?.usage ?? 0) - cache);
  return { cpuPercent, memoryBytes: used, memoryLimitBytes: s.memory_stats?.limit ?? 0 };
}
