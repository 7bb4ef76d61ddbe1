import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { BuildFailed } from "../errors.js";

/** Credentials of a registry with auth, as Docker's X-Registry-Auth carries them. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry, host:port. */
  serveraddress: string;
}

export interface ImageBuildOptions {
  tag: string;
  labels: Record<string, string>;
  buildargs?: Record<string, string>;
  dockerfile?: string;
  /** Memory limit for build containers, bytes. */
  memory?: number;
  /** Network the build's RUN steps use (a Docker network name; default: Docker's bridge). */
  networkMode?: string;
}

/** Images: build from a tar context, inspect, list and remove. One wrapper over dockerode. */
export class Images {
  constructor(private readonly docker: Docker) {}

  /**
   * Build an image, handing each line of Docker's output to onLine. Docker reports a failed
   * step inside the stream (errorDetail), not as an HTTP error, so the stream is parsed and a
   * failure rejects: a build never "succeeds" on stream end without checking.
   */
  async build(context: Readable, opts: ImageBuildOptions, onLine: (line: string) => void): Promise<string> {
    const stream = await this.docker.buildImage(context, {
      t: opts.tag,
      labels: opts.labels,
      buildargs: opts.buildargs,
      dockerfile: opts.dockerfile,
      rm: true,
      forcerm: true,
      memory: opts.memory,
      networkmode: opts.networkMode,
    } as Docker.ImageBuildOptions);
    let imageId = "";
    let error: string | null = null;
    const lastLines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (event: {
          stream?: string;
          error?: string;
          errorDetail?: { message?: string };
          aux?: { ID?: string };
        }) => {
          if (event.stream) {
            for (const line of event.stream.split("\n")) {
              if (line.trim() === "") continue;
              onLine(line);
              lastLines.push(line);
              if (lastLines.length > 20) lastLines.shift();
            }
          }
          if (event.aux?.ID) imageId = event.aux.ID;
          if (event.error || event.errorDetail) {
            error = event.errorDetail?.message || event.error || "unknown build error";
          }
        },
      );
    });
    if (error) throw new BuildFailed(`docker build failed: ${error}`, lastLines);
    if (!imageId) {
      const info = await this.inspect(opts.tag);
      if (!info) throw new BuildFailed("docker build ended without producing an image", lastLines);
      imageId = info.Id;
    }
    return imageId;
  }

  async inspect(ref: string): Promise<Docker.ImageInspectInfo | null> {
    try {
      return await this.docker.getImage(ref).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  async list(filters: Record<string, string[]>): Promise<Docker.ImageInfo[]> {
    return this.docker.listImages({ filters: JSON.stringify(filters) });
  }

  async remove(ref: string): Promise<void> {
    try {
      await this.docker.getImage(ref).remove({ force: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw err;
    }
  }

  /**
   * Remove every image matching the filters, newest first: an app's release images are
   * children of its dependency layer, and a parent with children cannot be removed.
   */
  async removeAll(filters: Record<string, string[]>): Promise<void> {
    // Creation times are in seconds, so a parent and child can tie: a second pass removes
    // a parent whose child went in the first.
    for (let pass = 0; pass < 3; pass++) {
      const images = (await this.list(filters)).sort((a, b) => b.Created - a.Created);
      if (images.length === 0) return;
      for (const img of images) await this.remove(img.Id);
    }
  }

  async tag(ref: string, repo: string, tag: string): Promise<void> {
    await this.docker.getImage(ref).tag({ repo, tag });
  }

  /**
   * Push repo:tag to its registry; resolves with the manifest digest (sha256:...) the
   * registry answered, and fails on an error line of the stream (not only on its end).
   */
  async push(repo: string, tag: string, authconfig?: RegistryAuth): Promise<string> {
    const stream = await this.docker
      .getImage(`${repo}:${tag}`)
      .push({ tag, ...(authconfig ? { authconfig } : {}) });
    return new Promise((resolve, reject) => {
      let digest = "";
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          if (err) reject(err);
          else if (!digest) reject(new Error(`pushing ${repo}:${tag} gave no digest`));
          else resolve(digest);
        },
        (event: { error?: string; aux?: { Digest?: string } }) => {
          if (event.error) reject(new Error(`pushing ${repo}:${tag}: ${event.error}`));
          if (event.aux?.Digest) digest = event.aux.Digest;
        },
      );
    });
  }
}
