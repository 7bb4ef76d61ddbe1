import net from "node:net";

/**
 * One probe: does something accept connections on host:port? Docker's userland proxy
 * accepts on the published port even when nothing listens inside the container, and then
 * closes the connection at once; so a connection counts only if it answers, or stays open.
 * Nothing is sent: a request (this sent `HEAD /` once) reached the app's own handlers on
 * every deploy check and reconcile pass, as phantom hits with their side effects and log lines.
 */
export function probePort(host: string, port: number, holdMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => finish(sock.readyState === "open"), holdMs + 2000);
    sock.on("connect", () => {
      setTimeout(() => finish(true), holdMs);
    });
    sock.on("data", () => finish(true));
    sock.on("end", () => finish(false));
    sock.on("close", () => finish(false));
    sock.on("error", () => finish(false));
  });
}

export interface WaitOptions {
  timeoutMs: number;
  /** Stops waiting early when the container has died. */
  isAlive: () => Promise<boolean>;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export type WaitOutcome = "ready" | "died" | "timeout";

export async function waitForPort(host: string, port: number, opts: WaitOptions): Promise<WaitOutcome> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.timeoutMs;
  while (now() < deadline) {
    if (await probePort(host, port)) return "ready";
    if (!(await opts.isAlive())) return "died";
    await sleep(opts.intervalMs ?? 250);
  }
  return "timeout";
}
