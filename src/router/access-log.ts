import type { Backend } from "../store/routes.js";

// One line per request in Heroku's router log shape, so people who grep Heroku logs can
// grep ours:
//   at=info method=GET path="/" host=app.example.com request_id=… fwd="1.2.3.4" dyno=web.1
//   connect=0ms service=4ms status=200 bytes=512 protocol=https
// and `at=error code=H12 desc="Request timeout" …` when the router answered for the app.

// A type alias (not an interface) so it fits a Record<string, unknown> log context.
export type AccessRecord = {
  method: string;
  host: string;
  path: string;
  status: number;
  requestId: string;
  /** Client address chain as the app sees it in X-Forwarded-For. */
  fwd: string;
  /** web.1 (from the container's name), or the backend's host:port when it has no name. */
  dyno?: string;
  /** Time to open the connection to the app; 0 on a pooled one. */
  connectMs: number;
  /** Time from the request's arrival to the end of the answer. */
  serviceMs: number;
  /** Bytes sent to the client (headers and body). */
  bytes: number;
  protocol: "http" | "https";
  app?: string;
  /** host:port of the last backend tried. */
  backend?: string;
  /** Heroku-style error code (H12, H13, H14, ...) when the router answered for the app. */
  code?: string;
  desc?: string;
};

/**
 * Where access lines go: the app's log stream (logs/), batched by the sink, never awaited by
 * the request. `app` is "" for a request no app claimed (it has no stream of its own).
 */
export interface AccessSink {
  write(app: string, line: string, record: AccessRecord): void;
  /** Send what is buffered. */
  flush(): Promise<void>;
}

export function formatAccessLog(r: AccessRecord): string {
  let line = "at=info";
  if (r.code || r.desc) {
    line = "at=error";
    if (r.code) line += ` code=${r.code}`;
    if (r.desc) line += ` desc=${quote(r.desc)}`;
  }
  line += ` method=${bare(r.method)} path=${quote(r.path)} host=${bare(r.host)}`;
  line += ` request_id=${bare(r.requestId)} fwd=${quote(r.fwd)} dyno=${r.dyno ? bare(r.dyno) : "none"}`;
  line += ` connect=${Math.round(r.connectMs)}ms service=${Math.round(r.serviceMs)}ms status=${r.status}`;
  return `${line} bytes=${r.bytes} protocol=${r.protocol}`;
}

const dynos = new WeakMap<Backend, string>();

/** `web.1` out of a container name like `app.web.1` or `ns.app.web.1.a1b2`; memoised per backend. */
export function dynoOf(b: Backend): string {
  let d = dynos.get(b);
  if (d === undefined) {
    const m = b.id ? /(?:^|[.\-_])(web\.\d+)(?:[.\-_]|$)/.exec(b.id) : null;
    d = m ? m[1] : (b.id ?? `${b.host}:${b.port}`);
    dynos.set(b, d);
  }
  return d;
}

// Values come from the client (Host, path, request id), so they are quoted whenever they
// could break the key=value shape or smuggle a fake line into the log. JSON.stringify only
// when there is something to escape: one runs per request, on the hot path.
const PLAIN = /^[^"\\\x00-\x1f\ud800-\udfff]*$/;
const BARE = /^[\w.:\-[\]/@]+$/;

function quote(v: string): string {
  return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
}

function bare(v: string): string {
  return v !== "" && BARE.test(v) ? v : JSON.stringify(v);
}
