import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import type { ContainerSpec, RunResult } from "./containers.js";

export interface CommitTarget {
  repo: string;
  tag: string;
  /**
   * The new image's config (Cmd, Entrypoint, Env, Labels, WorkingDir, User...). Docker fills
   * what this leaves out from the container's own config, so pass the image's whole config.
   */
  config: Docker.ContainerInspectInfo["Config"] | Record<string, unknown>;
}

/**
 * Run a container to completion with `stdin` written to its standard input (then closed),
 * streaming its output line by line; if it exits 0, commit its filesystem as repo:tag with
 * the given config. The container is removed afterwards. Values that must not end up in the
 * image (config vars) go through stdin: `docker commit` keeps the container's Env.
 */
export async function runAndCommit(
  docker: Docker,
  spec: ContainerSpec,
  stdin: string,
  onLine: (line: string) => void,
  target: CommitTarget,
  timeoutMs = 15 * 60_000,
): Promise<RunResult & { imageId: string | null }> {
  const container = await docker.createContainer({
    ...spec,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const lastLines: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const stream = (await container.attach({
      stream: true,
      hijack: true,
      stdin: true,
      stdout: true,
      stderr: true,
    })) as NodeJS.ReadWriteStream;
    const out = new PassThrough();
    container.modem.demuxStream(stream, out, out);
    let partial = "";
    const emit = (line: string) => {
      onLine(line);
      lastLines.push(line);
      if (lastLines.length > 30) lastLines.shift();
    };
    out.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const l of lines) emit(l);
    });
    const ended = new Promise<void>((resolve) => stream.on("end", () => resolve()));
    await container.start();
    stream.write(stdin);
    stream.end();
    if (timeoutMs > 0) timer = setTimeout(() => void container.kill().catch(() => {}), timeoutMs);
    const result = (await container.wait()) as { StatusCode: number };
    await Promise.race([ended, new Promise((r) => setTimeout(r, 500))]);
    if (partial) emit(partial);
    if (result.StatusCode !== 0) return { exitCode: result.StatusCode, lastLines, imageId: null };
    const committed = (await container.commit({
      // The query names the container and the new tag; the body is the image config.
      _query: { container: container.id, repo: target.repo, tag: target.tag },
      _body: target.config,
    } as unknown as Record<string, unknown>)) as { Id: string };
    return { exitCode: 0, lastLines, imageId: committed.Id };
  } finally {
    if (timer) clearTimeout(timer);
    await container.remove({ force: true }).catch(() => {});
  }
}
