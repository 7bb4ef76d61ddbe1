import type { IncomingMessage } from "node:http";
import { PassThrough, type Readable } from "node:stream";

// Request bodies are kept up to this size so a refused attempt can be replayed elsewhere;
// beyond it the memory per request matters more than one retry.
const REPLAY_LIMIT = 64 * 1024;

export function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/**
 * Records the start of a request body. A refused connection may already have swallowed
 * chunks into the dead upstream request; replay() serves them again, then the rest of the
 * body, to the next attempt.
 */
export class BodyTape {
  private chunks: Buffer[] = [];
  private size = 0;
  private usable = true;
  private readonly onData = (chunk: Buffer) => {
    this.size += chunk.length;
    if (this.size > REPLAY_LIMIT) this.stop();
    else this.chunks.push(chunk);
  };

  constructor(private readonly req: IncomingMessage) {
    req.on("data", this.onData);
  }

  get replayable(): boolean {
    return this.usable;
  }

  /** Stop recording (response started, or body too big) and free what was kept. */
  stop(): void {
    this.usable = false;
    this.req.off("data", this.onData);
    this.chunks = [];
  }

  /**
   * A stream of the whole body for the next attempt: what was recorded, then the rest as
   * it comes. The request is unpiped from earlier attempts' streams; a stream the upstream
   * client destroys (a failed attempt) never takes the client's request down with it.
   */
  replay(): Readable {
    this.req.unpipe();
    const stream = new PassThrough();
    for (const chunk of this.chunks) stream.write(chunk);
    this.req.pipe(stream);
    return stream;
  }
}
