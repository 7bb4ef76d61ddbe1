import type { Dispatcher } from "undici";
import type { Exchange } from "./exchange.js";

/** What an attempt reports to the proxy (proxy.ts). */
export interface AttemptSink {
  /** The app's status and headers; false when the response cannot be passed on. */
  answer(a: Attempt, status: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  complete(a: Attempt): void;
  upstreamError(a: Attempt, err: Error & { code?: string }): void;
}

/**
 * One try of a plain HTTP request on one backend, as an undici dispatch handler: one object
 * per attempt holding everything its callbacks need, so they need no closures. Callbacks of
 * an attempt that is no longer the exchange's current one are ignored (and it is aborted).
 */
export class Attempt implements Dispatcher.DispatchHandlers {
  constructor(
    readonly x: Exchange,
    readonly n: number,
    private readonly sink: AttemptSink,
  ) {}

  get current(): boolean {
    return this.x.attempt === this.n;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (!this.current || this.x.closed) abort();
    else this.x.abort = abort;
  }

  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx interim answers (100 Continue, 103 Early Hints) are not passed on.
    if (status < 200) return true;
    if (!this.current) return false;
    return this.sink.answer(this, status, headers, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    const res = this.x.res;
    if (!this.current || !res || res.destroyed) return true;
    // false pauses the app's socket until the client's 'drain' resumes it: backpressure.
    return res.write(chunk);
  }

  onComplete(): void {
    if (this.current) this.sink.complete(this);
  }

  onError(err: Error): void {
    if (this.current) this.sink.upstreamError(this, err);
  }
}
