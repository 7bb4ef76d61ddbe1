import { parseMemory } from "./config.js";
import { invalid } from "./errors.js";
import { parseConfigKey } from "./names.js";

// The wire protocol of `paas run`, shared by the CLI and the API (pure, no I/O).
//
// The CLI opens a websocket on GET /api/v1/apps/:app/run (bearer token as on every route).
//   text frames   JSON control messages
//     client -> server  {"type":"start", command, tty, env, memory?, cols?, rows?, term?}  (first)
//                       {"type":"resize", cols, rows}    the terminal changed size
//                       {"type":"eof"}                    stdin ended (closes the container's stdin)
//     server -> client  {"type":"started", dyno}          the container runs, stdin is read from here
//                       {"type":"exit", code}             the command ended; the socket closes next
//                       {"type":"error", message}         nothing ran, or the run broke off
//   binary frames  one tag byte (0 stdin, 1 stdout, 2 stderr: Docker's numbering), then the bytes.
// A closed socket before "exit" means the client went away: the container is removed.

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export type StreamTag = typeof STDIN | typeof STDOUT | typeof STDERR;

/** What to run: the body of the start message and of POST /apps/:app/run (detached). */
export interface RunRequest {
  command: string;
  tty: boolean;
  env: Record<string, string>;
  /** Memory limit in bytes; null: the platform's default. */
  memory: number | null;
  cols: number | null;
  rows: number | null;
  /** The client's TERM, for a TTY. */
  term: string | null;
  /**
   * A platform service image (labelled paas.kind=service, e.g. paas/postgres:15) to run
   * instead of the release's, with the app's config and networks: psql for an add-on.
   */
  image?: string | null;
}

/** A run request as the client sends it: memory as written, e.g. "256m". */
export type RunRequestWire = Omit<RunRequest, "memory"> & { memory: string | null };

export type ClientMessage =
  | ({ type: "start" } & RunRequest)
  | { type: "resize"; cols: number; rows: number }
  | { type: "eof" };

export type ServerMessage =
  | { type: "started"; dyno: string }
  | { type: "exit"; code: number }
  | { type: "error"; message: string };

export function encodeData(tag: StreamTag, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = tag;
  out.set(data, 1);
  return out;
}

export function decodeData(frame: Buffer): { tag: StreamTag; data: Buffer } | null {
  if (frame.length < 1) return null;
  const tag = frame[0];
  if (tag !== STDIN && tag !== STDOUT && tag !== STDERR) return null;
  return { tag, data: frame.subarray(1) };
}

const size = (v: unknown, what: string): number | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 10_000)
    throw invalid(`${what} must be a whole number between 1 and 10000`);
  return v;
};

/** Validate a run request (start message or POST body); throws a one-line invalid(). */
export function parseRunRequest(raw: unknown): RunRequest {
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw invalid("the run request must be an object");
  const r = raw as Record<string, unknown>;
  if (typeof r.command !== "string" || r.command.trim() === "")
    throw invalid("no command given: use paas run -- COMMAND [ARGS...], e.g. paas run bash");
  if (r.command.length > 64 * 1024) throw invalid("the command is longer than 64 KiB");
  const env: Record<string, string> = {};
  if (r.env !== undefined && r.env !== null) {
    if (typeof r.env !== "object" || Array.isArray(r.env)) throw invalid("env must map names to values");
    for (const [k, v] of Object.entries(r.env as Record<string, unknown>)) {
      if (typeof v !== "string") throw invalid(`env ${k} must have a string value`);
      env[parseConfigKey(k)] = v;
    }
  }
  let memory: number | null = null;
  if (r.memory !== undefined && r.memory !== null) {
    memory = typeof r.memory === "string" ? parseMemory(r.memory) : null;
    if (memory === null)
      throw invalid(`memory "${String(r.memory)}" must look like 256m or 1g (at least 4m)`);
  }
  const term = typeof r.term === "string" && /^[A-Za-z0-9._+-]{1,64}$/.test(r.term) ? r.term : null;
  let image: string | null = null;
  if (r.image !== undefined && r.image !== null) {
    if (typeof r.image !== "string" || !/^[a-z0-9][a-z0-9._/-]{0,127}(:[A-Za-z0-9._-]{1,64})?$/.test(r.image))
      throw invalid("image must be an image name like paas/postgres:15");
    image = r.image;
  }
  return {
    image,
    command: r.command,
    tty: r.tty === true,
    env,
    memory,
    cols: size(r.cols, "cols"),
    rows: size(r.rows, "rows"),
    term,
  };
}

/** A text frame from the client; throws invalid() for anything else. */
export function parseClientMessage(text: string): ClientMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw invalid("control message is not JSON");
  }
  const m = (msg ?? {}) as Record<string, unknown>;
  if (m.type === "start") return { type: "start", ...parseRunRequest(m) };
  if (m.type === "resize") {
    const cols = size(m.cols, "cols");
    const rows = size(m.rows, "rows");
    if (cols === null || rows === null) throw invalid("resize needs cols and rows");
    return { type: "resize", cols, rows };
  }
  if (m.type === "eof") return { type: "eof" };
  throw invalid(`unknown control message type ${JSON.stringify(m.type)}`);
}

/** A text frame from the server; null for one this client does not know (newer server). */
export function parseServerMessage(text: string): ServerMessage | null {
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (m.type === "started" && typeof m.dyno === "string") return { type: "started", dyno: m.dyno };
    if (m.type === "exit" && typeof m.code === "number") return { type: "exit", code: m.code };
    if (m.type === "error" && typeof m.message === "string") return { type: "error", message: m.message };
  } catch {
    // fall through
  }
  return null;
}
