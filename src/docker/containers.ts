import { type Duplex, PassThrough, type Readable, type Writable } from "node:stream";
import type Docker from "dockerode";

export type ContainerSpec = Docker.ContainerCreateOptions & { name: string };

export interface AttachedStdio {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  close(): void;
}

export interface RunResult {
  exitCode: number;
  lastLines: string[];
}

/** Containers: the runtime's and builder's only door to Docker containers. */
export class Containers {
  constructor(private readonly docker: Docker) {}

  async create(spec: ContainerSpec): Promise<string> {
    const c = await this.docker.createContainer(spec);
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async inspect(id: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async list(filters: Record<string, string[]>, all = true): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all, filters: JSON.stringify(filters) });
  }

  async rename(id: string, name: string): Promise<void> {
    await this.docker.getContainer(id).rename({ name });
  }

  /** SIGTERM, then SIGKILL after graceSeconds. Already stopped or gone is fine. */
  async stop(id: string, graceSeconds = 10): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: graceSeconds });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 304 && code !== 404) throw err;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 404 && code !== 409) throw err;
    }
  }

  /** Docker's restart: SIGTERM, graceSeconds, SIGKILL, start again (same id and config). */
  async restart(id: string, graceSeconds = 10): Promise<void> {
    await this.docker.getContainer(id).restart({ t: graceSeconds });
  }

  async kill(id: string, signal = "SIGKILL"): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 404 && code !== 409) throw err;
    }
  }

  /** The container's recent output (stdout and stderr), as lines. */
  async logs(id: string, opts: { tail?: number; timestamps?: boolean } = {}): Promise<string[]> {
    const buf = (await this.docker.getContainer(id).logs({
      stdout: true,
      stderr: true,
      follow: false,
      tail: opts.tail ?? 100,
      timestamps: opts.timestamps ?? false,
    })) as unknown as Buffer;
    return demuxToText(buf)
      .split("\n")
      .filter((l) => l !== "");
  }

  /** Follow a container's output; returns a stop function. */
  async follow(id: string, onLine: (line: string) => void, tail = 0): Promise<() => void> {
    const container = this.docker.getContainer(id);
    const stream = (await container.logs({
      stdout: true,
      stderr: true,
      follow: true,
      tail,
    })) as NodeJS.ReadableStream;
    const out = new PassThrough();
    container.modem.demuxStream(stream, out, out);
    let partial = "";
    out.on("data", (chunk: Buffer) => {
      const text = partial + chunk.toString("utf8");
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) onLine(l);
    });
    return () => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
    };
  }

  /**
   * Create, start and wait for a one-off container (build steps, release phase), streaming
   * its output line by line. The container is removed afterwards.
   */
  async runToCompletion(
    spec: ContainerSpec,
    onLine: (line: string) => void,
    timeoutMs = 0,
    /** Between create and start (e.g. joining more networks). */
    beforeStart?: (id: string) => Promise<void>,
  ): Promise<RunResult> {
    const container = await this.docker.createContainer(spec);
    const lastLines: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const out = new PassThrough();
      container.modem.demuxStream(stream, out, out);
      let partial = "";
      const emit = (line: string) => {
        onLine(line);
        lastLines.push(line);
        if (lastLines.length > 30) lastLines.shift();
      };
      out.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString("utf8");
        const lines = text.split(/\r?\n/);
        partial = lines.pop() ?? "";
        for (const l of lines) emit(l);
      });
      const ended = new Promise<void>((resolve) => stream.on("end", () => resolve()));
      await beforeStart?.(container.id);
      await container.start();
      if (timeoutMs > 0) timer = setTimeout(() => void container.kill().catch(() => {}), timeoutMs);
      const result = (await container.wait()) as { StatusCode: number };
      // The output is normally all in by the time the container has exited; a stream that
      // does not say so promptly is not worth a wait on every build.
      await Promise.race([ended, new Promise((r) => setTimeout(r, 500))]);
      if (partial) emit(partial);
      return { exitCode: result.StatusCode, lastLines };
    } finally {
      if (timer) clearTimeout(timer);
      // Removal can take seconds on a busy disk and nobody waits on it: it is labelled, and
      // a failure leaves it for the sweep.
      void container.remove({ force: true }).catch(() => {});
    }
  }

  /** Wait for a started container to exit; its exit code. */
  async wait(id: string): Promise<number> {
    const res = (await this.docker.getContainer(id).wait()) as { StatusCode: number };
    return res.StatusCode;
  }

  /**
   * Attach to a created container's stdio before it starts (so no output is missed). With a
   * TTY the output is one stream (stdout); without, Docker's multiplexed stream is split into
   * stdout and stderr. Ending `stdin` closes the container's stdin (it needs OpenStdin and
   * StdinOnce).
   */
  async attach(id: string, tty: boolean): Promise<AttachedStdio> {
    const container = this.docker.getContainer(id);
    const socket = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Duplex;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (tty) {
      // A TTY merges everything into one stream: there is no stderr to wait for.
      socket.pipe(stdout);
      stderr.end();
    } else {
      container.modem.demuxStream(socket, stdout, stderr);
      socket.on("end", () => {
        stdout.end();
        stderr.end();
      });
    }
    socket.on("error", () => socket.destroy());
    return { stdin: socket, stdout, stderr, close: () => socket.destroy() };
  }

  /** Set a running container's TTY size. */
  async resize(id: string, cols: number, rows: number): Promise<void> {
    await this.docker.getContainer(id).resize({ w: cols, h: rows });
  }

  /** Unpack a tar stream into a (created) container's filesystem at path. */
  async putArchive(id: string, tar: NodeJS.ReadableStream, path: string): Promise<void> {
    await this.docker.getContainer(id).putArchive(tar, { path });
  }

  /** Commit a container's filesystem as an image (used for slug images). */
  async commit(
    id: string,
    repo: string,
    tag: string,
    changes: string[],
    labels: Record<string, string>,
  ): Promise<string> {
    const res = (await this.docker.getContainer(id).commit({
      repo,
      tag,
      changes,
      Labels: labels,
    } as unknown as Record<string, unknown>)) as { Id: string };
    return res.Id;
  }
}

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** Docker multiplexes stdout/stderr in 8-byte framed chunks when there is no TTY. */
export function demuxToText(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf);
  let out = "";
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i];
    if (type !== 0 && type !== 1 && type !== 2) return buf.toString("utf8");
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString("utf8");
    i += 8 + len;
  }
  return out;
}
