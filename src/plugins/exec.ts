import { spawn } from "node:child_process";

// Running a plugin's executable (trigger or command), Dokku style: arguments as argv, the
// payload as JSON on stdin, the answer on stdout, a message on stderr, the verdict in the
// exit code. No shell: the file is run directly (its #! line picks the interpreter).

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class PluginTimeout extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(
      `${what} did not finish within ${Math.round(ms / 100) / 10}s (PAAS_PLUGIN_TIMEOUT) and was stopped`,
    );
    this.name = "PluginTimeout";
  }
}

const MAX_OUTPUT = 1 << 20;

/**
 * Run `file` with `argv` and `input` on stdin; kill its whole process group at `timeoutMs`
 * (a shell's children too) and reject with PluginTimeout naming `what`.
 */
export function runExecutable(
  file: string,
  argv: string[],
  opts: { input: string; env: Record<string, string>; cwd: string; timeoutMs: number; what: string },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env, stdio: "pipe", detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    // A trigger that does not read its stdin closes the pipe early: that is fine.
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${opts.what} could not start: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new PluginTimeout(opts.what, opts.timeoutMs));
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The last non-empty line(s) of stderr, as a one-line message. */
export function messageFrom(stderr: string, fallback: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length > 0 ? lines.slice(-3).join(" ") : fallback;
}
