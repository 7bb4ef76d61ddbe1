import WebSocket from "ws";
import { PaasError } from "../errors.js";
import { parseConfigKey } from "../names.js";
import {
  decodeData,
  encodeData,
  parseServerMessage,
  type RunRequestWire,
  STDERR,
  STDIN,
  STDOUT,
} from "../run-protocol.js";
import { parseErrorBody } from "./client.js";

// The client half of `paas run`: a websocket to the API (protocol in src/run-protocol.ts).
// With a TTY the local terminal goes raw, so Ctrl-C, Ctrl-D and line editing reach the
// container's TTY as they would a local shell; the window size follows SIGWINCH.

export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface RunSessionOptions {
  api: string;
  token: string;
  app: string;
  request: RunRequestWire;
  term: Terminal;
}

/** Run the command attached; resolves with its exit code. */
export function runAttached(o: RunSessionOptions): Promise<number> {
  const url = `${o.api.replace(/^http/, "ws")}/api/v1/apps/${encodeURIComponent(o.app)}/run`;
  const { stdin, stdout, stderr } = o.term;
  const tty = o.request.tty;
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${o.token}`, "user-agent": "paas-cli" },
      perMessageDeflate: false,
    });
    let settled = false;
    let rawMode = false;
    const cleanup = () => {
      stdin.off("data", onStdin);
      stdin.off("end", onStdinEnd);
      stdout.off("resize", onResize);
      clearTimeout(recheck);
      if (rawMode) stdin.setRawMode(false);
      // A stdin that was read from keeps the process alive.
      stdin.pause();
      stdin.unref?.();
    };
    const finish = (err: Error | null, code = 1) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      if (err) reject(err);
      else resolve(code);
    };
    const onStdin = (d: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(encodeData(STDIN, d));
    };
    const onStdinEnd = () => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "eof" }));
    };
    let sentSize = "";
    let recheck: NodeJS.Timeout | undefined;
    const sendSize = () => {
      // Asked of the terminal now: a resize made of several changes (stty cols, then rows)
      // may have been reported half-done.
      const [cols, rows] = stdout.getWindowSize();
      if (ws.readyState !== ws.OPEN || !cols || !rows || `${cols}x${rows}` === sentSize) return;
      sentSize = `${cols}x${rows}`;
      ws.send(JSON.stringify({ type: "resize", cols, rows }));
    };
    const onResize = () => {
      sendSize();
      clearTimeout(recheck);
      recheck = setTimeout(sendSize, 150);
    };

    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => {
        const parsed = parseErrorBody(body);
        finish(
          parsed
            ? new PaasError(parsed.code as PaasError["code"], parsed.message, parsed.details)
            : new PaasError(
                "internal",
                `the server at ${o.api} answered ${res.statusCode} to the run request (is it the paas API?)`,
              ),
        );
      });
    });
    ws.on("error", (err: NodeJS.ErrnoException) => {
      finish(
        new PaasError(
          "unavailable",
          `cannot reach the paas API at ${o.api}: ${err.code ?? err.message} (is \`paas server\` running?)`,
        ),
      );
    });
    ws.on("open", () => {
      // A terminal may report 0x0 (`script ... /dev/null`, some CI consoles): no size then.
      const { cols, rows } = o.request;
      const size = cols && rows ? { cols, rows } : { cols: null, rows: null };
      ws.send(JSON.stringify({ type: "start", ...o.request, ...size }));
    });
    ws.on("message", (raw: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer);
      if (isBinary) {
        const frame = decodeData(buf);
        if (frame?.tag === STDOUT) stdout.write(frame.data);
        else if (frame?.tag === STDERR) stderr.write(frame.data);
        return;
      }
      const msg = parseServerMessage(buf.toString("utf8"));
      if (!msg) return;
      if (msg.type === "started") {
        if (tty && stdin.isTTY) {
          stdin.setRawMode(true);
          rawMode = true;
          // Node re-reads the size on SIGWINCH and then emits "resize".
          stdout.on("resize", onResize);
        }
        stdin.on("data", onStdin);
        stdin.on("end", onStdinEnd);
        stdin.resume();
      } else if (msg.type === "exit") {
        finish(null, msg.code);
      } else if (msg.type === "error") {
        finish(new PaasError("internal", msg.message));
      }
    });
    ws.on("close", () => {
      finish(new PaasError("unavailable", "the connection to the platform closed before the command ended"));
    });
  });
}

/**
 * argv -> one shell command line. A single argument is taken as a command line already
 * (`paas run "rake db:migrate && echo ok"`); several are quoted where needed so each
 * reaches the command as the one word it was locally (`paas run -- echo 'a b'`).
 */
export function commandLine(args: string[]): string {
  if (args.length === 1) return args[0];
  return args
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** ["A=1", "B=x=y"] -> {A: "1", B: "x=y"}; throws a one-line error for a pair without "=". */
export function parseEnvPairs(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new PaasError("invalid_input", `--env "${p}" must look like KEY=VALUE`);
    try {
      env[parseConfigKey(p.slice(0, i))] = p.slice(i + 1);
    } catch {
      throw new PaasError(
        "invalid_input",
        `--env "${p.slice(0, i)}" is not a variable name: use letters, digits and underscores, not starting with a digit`,
      );
    }
  }
  return env;
}
