import type http from "node:http";
import type { Duplex, Readable } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { authenticate } from "../auth/authenticate.js";
import { authorize } from "../auth/policy.js";
import { sourceAddress, tokenFrom } from "../auth.js";
import { isPaasError, messageOf, type PaasError } from "../errors.js";
import { type AppName, parseAppName } from "../names.js";
import {
  type ClientMessage,
  decodeData,
  encodeData,
  parseClientMessage,
  type RunRequest,
  type ServerMessage,
  STDERR,
  STDIN,
  STDOUT,
  type StreamTag,
} from "../run-protocol.js";
import type { OneOff, OneOffs } from "../runtime/oneoff.js";
import { isStoreConnectionError, storeIsReady, storeUnreachableMessage } from "../store/health.js";
import type { Store } from "../store/index.js";

// `paas run` attached: a websocket on GET /api/v1/apps/:app/run (protocol in run-protocol.ts).
// Upgrades bypass express, so the token is checked here with the same helper as every route.

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

const PATH = /^\/api\/v1\/apps\/([^/]+)\/run\/?$/;
const START_TIMEOUT_MS = 10_000;
/** Output waiting in the socket beyond this pauses the container's stream (slow client). */
const HIGH_WATER = 1 << 20;

export interface RunSockets {
  close(): Promise<void>;
}

export function attachRunSockets(
  server: http.Server,
  deps: { store: Store; oneOffs: OneOffs; log: Log; redisUrl: string },
): RunSockets {
  const unreachable = storeUnreachableMessage(deps.redisUrl);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const sessions = new Set<Session>();

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://x");
    const match = PATH.exec(url.pathname);
    if (!match) {
      // Another upgrade handler may want it; when there is none, answer rather than hang.
      if (server.listenerCount("upgrade") === 1)
        reject(socket, 404, "not_found", `no API route ${url.pathname}`);
      return;
    }
    socket.on("error", () => socket.destroy());
    // As every API route: with Redis gone, answer at once rather than wait for it.
    if (!storeIsReady(deps.store.redis)) return reject(socket, 503, "unavailable", unreachable);
    void (async () => {
      const addr = sourceAddress(req);
      const who = await authenticate(deps.store, tokenFrom(req), addr);
      if (!who.ok) {
        const code = who.status === 429 ? "too_many_requests" : "unauthorized";
        return reject(socket, who.status, code, who.message, who.retryAfter);
      }
      const app = parseAppName(decodeURIComponent(match[1]));
      await deps.store.apps.require(app);
      // The one policy, as for every route: app:run.
      const d = authorize(who.principal, "app:run", await deps.store.access.get(app));
      const user = who.principal.user;
      await deps.store.audit.record({
        user,
        addr,
        action: "paas run",
        app,
        result: d.allow ? "started" : "403 denied",
      });
      if (!d.allow) return reject(socket, 403, "forbidden", `${d.reason} (app ${app})`);
      const release = await deps.oneOffs.currentRelease(app);
      wss.handleUpgrade(req, socket, head, (ws) => {
        const session = new Session(ws, app, deps, unreachable, () => sessions.delete(session));
        sessions.add(session);
        session.begin(release);
      });
    })().catch((err: unknown) => {
      if (isPaasError(err)) return reject(socket, err.status, err.code, err.message);
      if (isStoreConnectionError(err)) return reject(socket, 503, "unavailable", unreachable);
      deps.log("run upgrade failed", { error: messageOf(err) });
      reject(socket, 500, "internal", "internal error starting the run");
    });
  });

  return {
    async close() {
      await Promise.all([...sessions].map((s) => s.abort("the platform is stopping")));
      wss.close();
    },
  };
}

/** An HTTP error answer on a socket that was never upgraded, in the API's error envelope. */
function reject(
  socket: Duplex,
  status: number,
  code: PaasError["code"] | string,
  message: string,
  retryAfter?: number,
): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason =
    {
      400: "Bad Request",
      401: "Unauthorized",
      403: "Forbidden",
      404: "Not Found",
      429: "Too Many Requests",
      503: "Service Unavailable",
    }[status] ?? "Error";
  const extra = retryAfter ? `Retry-After: ${retryAfter}\r\n` : "";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

class Session {
  private oneOff: OneOff | null = null;
  private stdin: NodeJS.WritableStream | null = null;
  private tty = false;
  private ended = false;
  private resizing = false;
  private pendingSize: { cols: number; rows: number } | undefined;
  /** Ends the heartbeat that tells the reaper a client still holds the container. */
  private unhold: () => void = () => {};

  constructor(
    private readonly ws: WebSocket,
    private readonly app: AppName,
    private readonly deps: { oneOffs: OneOffs; log: Log },
    /** What to tell the client when Redis went away mid-start. */
    private readonly unreachable: string,
    private readonly done: () => void,
  ) {}

  begin(release: Parameters<OneOffs["create"]>[2]): void {
    const timer = setTimeout(() => void this.abort("no start message arrived"), START_TIMEOUT_MS);
    let started = false;
    // Until the container is attached, stdin frames wait here.
    const early: ClientMessage[] = [];
    const earlyData: Buffer[] = [];
    this.ws.on("message", (raw: RawData, isBinary: boolean) => {
      const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer);
      if (isBinary) {
        const frame = decodeData(buf);
        if (frame?.tag !== STDIN) return;
        if (this.stdin) this.stdin.write(frame.data);
        else earlyData.push(frame.data);
        return;
      }
      let msg: ClientMessage;
      try {
        msg = parseClientMessage(buf.toString("utf8"));
      } catch (err) {
        void this.abort(messageOf(err));
        return;
      }
      if (msg.type === "start") {
        if (started) return;
        started = true;
        clearTimeout(timer);
        void this.run(msg, release, early, earlyData).catch((err) =>
          this.abort(isStoreConnectionError(err) ? this.unreachable : publicMessage(err)),
        );
      } else if (!this.stdin) early.push(msg);
      else this.control(msg);
    });
    this.ws.on("close", () => {
      clearTimeout(timer);
      // The client went away before the command ended: the container goes too.
      if (!this.ended) void this.abort(null);
    });
    this.ws.on("error", () => {});
  }

  private async run(
    req: RunRequest,
    release: Parameters<OneOffs["create"]>[2],
    early: ClientMessage[],
    earlyData: Buffer[],
  ): Promise<void> {
    const { oneOffs } = this.deps;
    this.tty = req.tty;
    const o = await oneOffs.create(
      this.app,
      {
        command: req.command,
        env: req.env,
        memory: req.memory,
        tty: req.tty,
        term: req.term,
        image: req.image ?? undefined,
        mode: "attached",
      },
      release,
    );
    this.oneOff = o;
    if (this.ended) return void (await oneOffs.remove(o));
    this.unhold = oneOffs.hold(o);
    const stdio = await oneOffs.attach(o, req.tty);
    const outputDone = Promise.all([this.pump(stdio.stdout, STDOUT), this.pump(stdio.stderr, STDERR)]);
    await oneOffs.start(o);
    if (req.tty && req.cols && req.rows) await oneOffs.resize(o, req.cols, req.rows).catch(() => {});
    this.deps.log("one-off started", { app: this.app, dyno: o.dyno });
    this.send({ type: "started", dyno: o.dyno });
    this.stdin = stdio.stdin;
    for (const d of earlyData) stdio.stdin.write(d);
    for (const m of early) this.control(m);
    const code = await oneOffs.wait(o);
    // Output normally ends with the container; a stream that does not say so is not waited on long.
    await Promise.race([outputDone, new Promise((r) => setTimeout(r, 2000))]);
    stdio.close();
    if (this.ended) return;
    this.ended = true;
    this.send({ type: "exit", code });
    this.ws.close(1000);
    this.done();
    this.unhold();
    await oneOffs.remove(o).catch(() => {});
  }

  private control(msg: ClientMessage): void {
    if (msg.type === "resize" && this.tty && this.oneOff) this.resize(msg.cols, msg.rows);
    if (msg.type === "eof") this.stdin?.end();
  }

  /**
   * Resizes go to Docker one at a time, and only the newest waiting one is sent: two calls
   * in flight may land in either order (`stty cols 77 rows 22` is two changes), leaving the
   * container at the older size.
   */
  private resize(cols: number, rows: number): void {
    this.pendingSize = { cols, rows };
    if (this.resizing) return;
    this.resizing = true;
    void (async () => {
      while (this.pendingSize && this.oneOff) {
        const size = this.pendingSize;
        this.pendingSize = undefined;
        await this.deps.oneOffs.resize(this.oneOff, size.cols, size.rows).catch(() => {});
      }
      this.resizing = false;
    })();
  }

  /** Copy one output stream to the socket, pausing while the client lags behind. */
  private pump(stream: Readable, tag: StreamTag): Promise<void> {
    return new Promise((resolve) => {
      stream.on("data", (chunk: Buffer) => {
        if (this.ws.readyState !== this.ws.OPEN) return;
        this.ws.send(encodeData(tag, chunk), () => {
          if (stream.isPaused() && this.ws.bufferedAmount < HIGH_WATER) stream.resume();
        });
        if (this.ws.bufferedAmount >= HIGH_WATER) stream.pause();
      });
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.on("error", () => resolve());
    });
  }

  private send(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** End the session without an exit code: tell the client why (if it is there) and remove the container. */
  async abort(message: string | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.unhold();
    if (message) this.send({ type: "error", message });
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(message ? 1011 : 1000);
    this.done();
    if (this.oneOff) {
      this.deps.log("one-off removed", {
        app: this.app,
        dyno: this.oneOff.dyno,
        reason: message ?? "client left",
      });
      await this.deps.oneOffs.remove(this.oneOff).catch(() => {});
    }
  }
}

/** User mistakes keep their message; anything else is reported without internals. */
function publicMessage(err: unknown): string {
  return isPaasError(err) ? err.message : `the run could not start: ${messageOf(err)}`;
}
