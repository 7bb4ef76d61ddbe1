import { PassThrough, type Readable, type Writable } from "node:stream";
import type Docker from "dockerode";

export interface ExecResult {
  exitCode: number;
  /** The last few KiB of stderr (for an error message). */
  stderr: string;
}

/** Commands inside running containers (pg_dump in an add-on) and whole-filesystem exports. */
export class Execs {
  constructor(private readonly docker: Docker) {}

  /**
   * Run cmd in a running container: stdin (if any) is piped in and closed, stdout goes to
   * `stdout` (if any, else dropped). Resolves when the command has exited.
   */
  async run(
    id: string,
    cmd: string[],
    opts: { stdin?: Readable; stdout?: Writable; env?: string[]; user?: string } = {},
  ): Promise<ExecResult> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: cmd,
      Env: opts.env,
      User: opts.user,
      AttachStdin: Boolean(opts.stdin),
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = (await exec.start({
      hijack: true,
      stdin: Boolean(opts.stdin),
    })) as unknown as NodeJS.ReadWriteStream;
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = "";
    err.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString("utf8")).slice(-4096);
    });
    if (opts.stdout) out.pipe(opts.stdout, { end: false });
    else out.resume();
    this.docker.modem.demuxStream(stream, out, err);
    if (opts.stdin) {
      opts.stdin.pipe(stream as unknown as Writable, { end: false });
      opts.stdin.on("end", () => (stream as unknown as { end: () => void }).end());
    }
    await new Promise<void>((resolve, reject) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.on("error", reject);
    });
    let info = await exec.inspect();
    for (let i = 0; info.Running && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      info = await exec.inspect();
    }
    return { exitCode: info.ExitCode ?? 1, stderr };
  }

  /** The container's whole filesystem as a tar stream (`docker export`). */
  async exportFs(id: string): Promise<NodeJS.ReadableStream> {
    return (await this.docker.getContainer(id).export()) as NodeJS.ReadableStream;
  }
}
