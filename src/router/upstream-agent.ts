import http from "node:http";
import net from "node:net";
import { CONNECT_TIMEOUT_CODE } from "./failures.js";

/** What the router adds to http.request() options; the agent passes them to createConnection. */
export interface UpstreamOptions {
  /** The app's connect timeout. */
  connectTimeoutMs?: number;
}

const connectMs = new WeakMap<net.Socket, number>();

/** How long the socket took to connect (0 when unknown or pooled). */
export function connectTimeOf(socket: net.Socket | null | undefined): number {
  return socket ? (connectMs.get(socket) ?? 0) : 0;
}

/**
 * The router's keep-alive pool to the apps. Only new connections pay for a connect timer
 * (a pooled one is reused as is); the time a connection took to open is kept for the
 * access line's `connect=`.
 *
 * Idle pooled connections are closed after 4 s, under the 5 s keep-alive timeout of
 * Node's http server (the most common app server here), so the router usually drops a
 * connection before the app does. Apps with a shorter keep-alive still race it: the
 * proxy retries an idempotent request that met a reset on a reused connection
 * (failures.ts), so that race never reaches a client as a 502.
 */
export class UpstreamAgent extends http.Agent {
  constructor() {
    super({ keepAlive: true, maxFreeSockets: 256, timeout: 4_000, scheduling: "lifo" });
  }

  override createConnection(options: net.NetConnectOpts & UpstreamOptions): net.Socket {
    const socket = net.createConnection(options);
    const ms = options.connectTimeoutMs;
    const started = performance.now();
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(() => {
            const err = Object.assign(new Error(`no connection within ${ms}ms`), {
              code: CONNECT_TIMEOUT_CODE,
            });
            socket.destroy(err);
          }, ms);
    socket.once("connect", () => {
      if (timer) clearTimeout(timer);
      connectMs.set(socket, performance.now() - started);
    });
    if (timer) socket.once("close", () => clearTimeout(timer));
    return socket;
  }
}
