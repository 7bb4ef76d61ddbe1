import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { Cli } from "../../../src/cli/context.js";
import type { GitRemotes } from "../../../src/cli/git-remotes.js";
import { bufferIo } from "../../../src/cli/output.js";
import { runCli } from "../../../src/cli/program.js";

// A small HTTP server standing in for the paas API in CLI tests: each test sets its answers
// route by route (an answer may depend on the request body), and every request is recorded.
// The real CLI program and the real fetch talk to it.

export const TOKEN = "secret-token";

export type Answer = { status?: number; json?: unknown; text?: string };
export type Reply = Answer | ((body: unknown) => Answer);

export function fail(status: number, code: string, message: string, details?: string[]): Answer {
  return { status, json: { error: { code, message, ...(details ? { details } : {}) } } };
}

const noGit: GitRemotes = {
  insideWorkTree: async () => true,
  getUrl: async () => null,
  setUrl: async () => "added",
  remove: async () => {},
};

/** Registers its own beforeAll/afterAll/beforeEach hooks; call at the top of a test file. */
export function useFakeApi(tmpPrefix: string, now: Date) {
  let server: http.Server;
  let api = "";
  let home = "";
  const answers = new Map<string, Reply>();
  const requests: { method: string; url: string; body: unknown }[] = [];

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? "/", api);
    const body = raw ? JSON.parse(raw) : undefined;
    requests.push({ method: req.method ?? "", url: url.pathname + url.search, body });
    const route = `${req.method} ${url.pathname.replace(/^\/api\/v1/, "")}`;
    const found = answers.get(route);
    const reply =
      req.headers.authorization !== `Bearer ${TOKEN}`
        ? fail(401, "unauthorized", "invalid API token")
        : typeof found === "function"
          ? found(body)
          : (found ?? fail(404, "not_found", `no route ${route}`));
    if (reply.text !== undefined) {
      res.writeHead(reply.status ?? 200, { "content-type": "text/plain; charset=utf-8" });
      res.end(reply.text);
      return;
    }
    res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
    res.end(JSON.stringify(reply.json ?? {}));
  }

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    server = http.createServer((req, res) => {
      handle(req, res).catch((err) => {
        res.writeHead(500);
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(home, { recursive: true, force: true });
  });

  beforeEach(() => {
    answers.clear();
    requests.length = 0;
  });

  return {
    requests,
    /** What the API answers to `METHOD /path` (the path without /api/v1). */
    answer(route: string, reply: Reply): void {
      answers.set(route, reply);
    },
    async paas(args: string[]) {
      const io = bufferIo();
      const env = { PAAS_API_URL: api, PAAS_API_TOKEN: TOKEN };
      const cli: Cli = { io, env, home, cwd: home, git: noGit, now: () => now, fetch: globalThis.fetch };
      const code = await runCli(cli, ["node", "paas", ...args]);
      return { code, stdout: io.stdout(), stderr: io.stderr() };
    },
  };
}
