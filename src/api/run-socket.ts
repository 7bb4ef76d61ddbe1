import type http from "node:http";
import type { Duplex } from "node:stream";
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
  STDIN,
  type StreamTag,
} from "../run-protocol.js";
import type { OneOffRunner, RunHandle, RunTarget } from "../runtime/run-relay/runner.js";
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
  deps: { store: Store; runner: OneOffRunner; log: Log; redisUrl: string },
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
      // The release, and in swarm mode the node: "nothing to run" or "no worker there" is a 4xx/503.
      const target = await deps.runner.prepare(app);
      wss.handleUpgrade(req, socket, head, (ws) => {
        const session = new Session(ws, app, deps, unreachable, () => sessions.delete(session));
        sessions.add(session);
        session.begin(target);
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
  private handle: RunHandle | null = null;
  private ended = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly app: AppName,
    private readonly deps: { runner: OneOffRunner; log: Log },
    /** What to tell the client when Redis went away mid-start. */
    private readonly unreachable: string,
    private readonly done: () => void,
  ) {}

  begin(target: RunTarget): void {
    const timer = setTimeout(() => void this.abort("no start message arrived"), START_TIMEOUT_MS);
    let started = false;
    // Until the command runs, stdin frames and control messages wait here.
    const early: ClientMessage[] = [];
    const earlyData: Buffer[] = [];
    this.ws.on("message", (raw: RawData, isBinary: boolean) => {
      const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer);
      if (isBinary) {
        const frame = decodeData(buf);
        if (frame?.tag !== STDIN) return;
        if (this.handle) this.handle.stdin(frame.data);
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
        void this.run(msg, target, early, earlyData).catch((err) =>
          this.abort(isStoreConnectionError(err) ? this.unreachable : publicMessage(err)),
        );
      } else if (!this.handle) early.push(msg);
      else this.control(msg);
    });
    this.ws.on("close", () => {
      clearTimeout(timer);
      // The client went away before the command ended: the container goes too.
      if (!this.ended) void this.abort(null);
    });
    this.ws.on("error", () => {});
  }

  private async run(req: RunRequest, target: RunTarget, early: ClientMessage[], earlyData: Buffer[]) {
    const handle = await this.deps.runner.attach(this.app, target, req, {
      output: (tag, data) => this.output(tag, data),
    });
    if (this.ended) return void (await handle.abort("the client went away"));
    this.handle = handle;
    this.deps.log("one-off started", { app: this.app, dyno: handle.dyno, node: target.node?.hostname });
    this.send({ type: "started", dyno: handle.dyno });
    for (const d of earlyData) handle.stdin(d);
    for (const m of early) this.control(m);
    const code = await handle.exit;
    if (this.ended) return;
    this.ended = true;
    this.send({ type: "exit", code });
    this.ws.close(1000);
    this.done();
  }

  private control(msg: ClientMessage): void {
    if (msg.type === "resize") this.handle?.resize(msg.cols, msg.rows);
    if (msg.type === "eof") this.handle?.eof();
  }

  /** Output to the socket; while the client lags behind, the producer waits. */
  private output(tag: StreamTag, data: Buffer): Promise<void> | undefined {
    if (this.ws.readyState !== this.ws.OPEN) return undefined;
    if (this.ws.bufferedAmount < HIGH_WATER) {
      this.ws.send(encodeData(tag, data));
      return undefined;
    }
    return new Promise((resolve) => {
      this.ws.send(encodeData(tag, data), () => resolve());
    });
  }

  private send(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** End the session without an exit code: tell the client why (if it is there) and remove the container. */
  async abort(message: string | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (message) this.send({ type: "error", message });
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(message ? 1011 : 1000);
    this.done();
    if (this.handle) {
      this.deps.log("one-off removed", {
        app: this.app,
        dyno: this.handle.dyno,
        reason: message ?? "client left",
      });
      await this.handle.abort(message ?? "the client went away").catch(() => {});
    }
  }
}

/** User mistakes keep their message; anything else is reported without internals. */
function publicMessage(err: unknown): string {
  return isPaasError(err) ? err.message : `the run could not start: ${messageOf(err)}`;
}
