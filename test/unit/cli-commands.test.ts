import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Cli } from "../../src/cli/context.js";
import { credentialsPath, netrcPath } from "../../src/cli/credentials.js";
import type { GitRemotes } from "../../src/cli/git-remotes.js";
import { bufferIo } from "../../src/cli/output.js";
import { runCli } from "../../src/cli/program.js";

// The real CLI program and the real fetch, against a small real HTTP server that speaks
// the API contract. Only git is replaced by an in-memory remote list.

const TOKEN = "secret-token";
const NOW = new Date("2024-05-01T12:00:00Z");

interface FakeApp {
  name: string;
  url: string;
  gitUrl: string;
  createdAt: string;
  release: null | { version: string; description: string; createdAt: string };
  config: Record<string, string>;
}

let server: http.Server;
let api: string;
let apps: Map<string, FakeApp>;
let requests: { method: string; url: string; body: unknown }[];

function newApp(name: string): FakeApp {
  return {
    name,
    url: `http://${name}.localhost`,
    gitUrl: `${api}/git/${name}.git`,
    createdAt: "2024-05-01T10:00:00Z",
    release: null,
    config: {},
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function fail(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  details?: string[],
): void {
  send(res, status, { error: { code, message, ...(details ? { details } : {}) } });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  const url = new URL(req.url ?? "/", api);
  const body = raw ? JSON.parse(raw) : undefined;
  requests.push({ method: req.method ?? "", url: url.pathname + url.search, body });

  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    return fail(res, 401, "unauthorized", "invalid API token");
  }
  const parts = url.pathname.replace(/^\/api\/v1\//, "").split("/");
  const route = `${req.method} ${parts[0]}${parts.length > 1 ? "/:app" : ""}${parts[2] ? `/${parts[2]}` : ""}`;
  const app = parts[1] ? apps.get(parts[1]) : undefined;
  if (parts[1] === "gateway") {
    res.writeHead(502, { "content-type": "text/html" });
    return void res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
  }
  if (parts[1] && !app && route !== "POST apps")
    return fail(res, 404, "not_found", `app ${parts[1]} not found`);

  switch (route) {
    case "GET whoami":
      return send(res, 200, { user: "admin" });
    case "GET apps":
      return send(
        res,
        200,
        [...apps.values()].map(({ config: _, ...a }) => a),
      );
    case "POST apps": {
      const name = body?.name ?? "swift-otter-4821";
      if (apps.has(name)) return fail(res, 409, "conflict", `app ${name} already exists`);
      const created = newApp(name);
      apps.set(name, created);
      const { config: _, release: __, ...shown } = created;
      return send(res, 201, shown);
    }
    case "GET apps/:app": {
      const { config: _, ...shown } = app!;
      const processes = app!.release
        ? [
            {
              name: "web.1",
              type: "web",
              state: "up",
              release: "v2",
              command: "node server.js",
              startedAt: "2024-05-01T11:55:00Z",
              restarts: 0,
              port: 5000,
            },
          ]
        : [];
      return send(res, 200, { ...shown, processes });
    }
    case "DELETE apps/:app":
      if (url.searchParams.get("confirm") !== app!.name) {
        return fail(res, 400, "invalid_input", "confirm does not match");
      }
      apps.delete(app!.name);
      return send(res, 200, { destroyed: app!.name });
    case "GET apps/:app/config":
      return send(res, 200, app!.config);
    case "PATCH apps/:app/config":
      for (const [key, value] of Object.entries(body as Record<string, string | null>)) {
        if (value === null) delete app!.config[key];
        else app!.config[key] = value;
      }
      return send(res, 200, app!.config);
    case "GET apps/:app/ps":
      return send(res, 200, [
        {
          name: "web.1",
          type: "web",
          state: "up",
          release: "v2",
          command: "node server.js",
          startedAt: "2024-05-01T11:55:00Z",
          restarts: 0,
          port: 5000,
        },
        {
          name: "worker.1",
          type: "worker",
          state: "crashed",
          release: "v2",
          command: "node worker.js",
          startedAt: null,
          restarts: 3,
          port: null,
        },
      ]);
    case "GET apps/:app/logs": {
      // The CLI asks for NDJSON (format=json), one line object per line.
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      const line = (id: string, process: string, message: string) =>
        `${JSON.stringify({ id, ts: "2024-05-01T10:00:00.000001+00:00", source: "app", process, message })}\n`;
      if (url.searchParams.get("tail") !== "1")
        return void res.end(line("1-0", "web.1", "one") + line("2-0", "web.2", "two"));
      res.write(line("1-0", "web.1", "first"));
      setTimeout(() => res.write(line("2-0", "web.1", "sécond")), 30);
      setTimeout(() => res.end(line("3-0", "web.1", "third")), 60);
      return;
    }
    case "GET apps/:app/releases":
      return send(res, 200, [
        {
          version: "v2",
          description: "Set A",
          status: "succeeded",
          createdAt: "2024-05-01T11:00:00Z",
          user: "admin",
          image: "i",
          commit: null,
        },
        {
          version: "v1",
          description: "Deploy 1a2b3c4",
          status: "succeeded",
          createdAt: "2024-04-29T12:00:00Z",
          user: "admin",
          image: "i",
          commit: "1a2b3c4",
        },
      ]);
    default:
      return fail(res, 404, "not_found", `no route ${route}`);
  }
}

class MemoryGit implements GitRemotes {
  remotes = new Map<string, string>();
  inside = true;
  async insideWorkTree() {
    return this.inside;
  }
  async getUrl(_cwd: string, remote: string) {
    return this.remotes.get(remote) ?? null;
  }
  async setUrl(_cwd: string, remote: string, url: string) {
    const before = this.remotes.get(remote);
    this.remotes.set(remote, url);
    return before === url ? "unchanged" : before === undefined ? "added" : "updated";
  }
  async remove(_cwd: string, remote: string) {
    this.remotes.delete(remote);
  }
}

let home: string;
let git: MemoryGit;

async function paas(
  args: string[],
  env: Record<string, string> = { PAAS_API_URL: api, PAAS_API_TOKEN: TOKEN },
) {
  const io = bufferIo();
  const cli: Cli = { io, env, home, cwd: home, git, now: () => NOW, fetch: globalThis.fetch };
  const code = await runCli(cli, ["node", "paas", ...args]);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

beforeAll(async () => {
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
});

beforeEach(() => {
  apps = new Map([["shop", newApp("shop")]]);
  requests = [];
  git = new MemoryGit();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "paas-cli-test-"));
  return () => fs.rmSync(home, { recursive: true, force: true });
});

describe("paas without a command", () => {
  it("prints the help on stdout and exits 0; an unknown command still exits 1", async () => {
    const bare = await paas([]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/Usage: paas/);
    expect(bare.stdout).toMatch(/config:set/);
    const unknown = await paas(["no-such-command"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command/);
  });
});

describe("login, whoami, logout", () => {
  it("verifies the token, saves credentials and a netrc entry, and removes them again", async () => {
    const login = await paas(["login", "--api", api + "/", "--token", TOKEN], {});
    expect(login).toMatchObject({ code: 0, stdout: `Logged in to ${api} as admin\n`, stderr: "" });
    expect(JSON.parse(fs.readFileSync(credentialsPath(home), "utf8"))).toEqual({ api, token: TOKEN });
    expect(fs.readFileSync(netrcPath(home), "utf8")).toBe(`machine 127.0.0.1 login paas password ${TOKEN}\n`);

    expect(await paas(["whoami"], {})).toMatchObject({ code: 0, stdout: "admin\n" });

    expect(await paas(["logout"], {})).toMatchObject({ code: 0, stdout: `Logged out of ${api}\n` });
    expect(fs.existsSync(credentialsPath(home))).toBe(false);
    expect(fs.existsSync(netrcPath(home))).toBe(false);
  });

  it("saves nothing when the API rejects the token", async () => {
    const result = await paas(["login", "--api", api, "--token", "wrong"], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "error: invalid API token\n  log in again: paas login --api URL --token TOKEN\n",
    );
    expect(fs.existsSync(credentialsPath(home))).toBe(false);
  });

  it("tells how to log in when there are no credentials", async () => {
    const result = await paas(["apps"], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "error: not logged in: run `paas login --api URL --token TOKEN` (the admin token is in $PAAS_DATA_DIR/admin-token on the server)\n",
    );
  });
});

describe("apps", () => {
  it("lists apps as a table and as JSON", async () => {
    expect((await paas(["apps"])).stdout).toBe(
      `=== Apps\nNAME  RELEASE  URL\nshop  -        http://shop.localhost\n`,
    );
    const listed = await paas(["apps:list", "--json"]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: "shop", release: null })]);
  });

  it("creates a named app and adds the paas remote", async () => {
    const result = await paas(["apps:create", "blog"]);
    expect(result).toMatchObject({
      code: 0,
      stdout: `Creating app blog... done\nhttp://blog.localhost | ${api}/git/blog.git\nGit remote paas added\n`,
    });
    expect(requests.at(-1)).toMatchObject({ method: "POST", url: "/api/v1/apps", body: { name: "blog" } });
    expect(git.remotes.get("paas")).toBe(`${api}/git/blog.git`);
  });

  it("lets the server pick a name, and updates an existing remote", async () => {
    git.remotes.set("paas", `${api}/git/old.git`);
    const result = await paas(["apps:create"]);
    expect(result.stdout).toContain("Creating app swift-otter-4821... done\n");
    expect(result.stdout).toContain("Git remote paas updated\n");
    expect(requests.at(-1)?.body).toEqual({});
  });

  it("does not touch git outside a work tree", async () => {
    git.inside = false;
    const result = await paas(["apps:create", "blog"]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("Git remote");
    expect(git.remotes.size).toBe(0);
  });

  it("finishes the progress line and prints the API's error when creation fails", async () => {
    const result = await paas(["apps:create", "shop"]);
    expect(result).toEqual({
      code: 1,
      stdout: "Creating app shop... !\n",
      stderr: "error: app shop already exists\n",
    });
  });

  it("shows info for the app of the paas remote", async () => {
    git.remotes.set("paas", `${api}/git/shop.git`);
    const result = await paas(["apps:info"]);
    expect(result.stdout.split("\n").slice(0, 3)).toEqual([
      "=== shop",
      "Web URL: http://shop.localhost",
      `Git URL: ${api}/git/shop.git`,
    ]);
    expect(JSON.parse((await paas(["apps:info", "-a", "shop", "--json"])).stdout).name).toBe("shop");
  });

  it("prints the URL for url and open", async () => {
    expect((await paas(["url", "-a", "shop"])).stdout).toBe("http://shop.localhost\n");
    expect((await paas(["open", "-a", "shop"])).stdout).toBe("http://shop.localhost\n");
  });

  it("reports an unknown app with the API's message", async () => {
    expect(await paas(["url", "-a", "nope"])).toMatchObject({
      code: 1,
      stderr: "error: app nope not found\n",
    });
  });

  it("says how to pick an app when there is neither -a nor a remote", async () => {
    expect(await paas(["ps"])).toMatchObject({
      code: 1,
      stderr:
        "error: no app given: use -a APP or run inside a repo with a paas remote (paas git:remote -a APP)\n",
    });
  });

  it("refuses to destroy without a matching --confirm", async () => {
    const none = await paas(["apps:destroy", "shop"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^error: destroying shop deletes .* run paas apps:destroy shop --confirm shop\n$/,
    );
    const wrong = await paas(["apps:destroy", "shop", "--confirm", "shoe"]);
    expect(wrong.stderr).toMatch(/^error: --confirm shoe does not match the app shop/);
    expect(requests.filter((r) => r.method === "DELETE")).toEqual([]);
  });

  it("destroys with --confirm and removes the paas remote that pointed at it", async () => {
    git.remotes.set("paas", `${api}/git/shop.git`);
    const result = await paas(["apps:destroy", "shop", "--confirm", "shop"]);
    expect(result).toMatchObject({
      code: 0,
      stdout:
        "Destroying shop (including all its releases and containers)... done\nGit remote paas removed\n",
    });
    expect(requests.at(-1)?.url).toBe("/api/v1/apps/shop?confirm=shop");
    expect(apps.has("shop")).toBe(false);
    expect(git.remotes.has("paas")).toBe(false);
  });

  it("keeps a paas remote that points at another app", async () => {
    git.remotes.set("paas", `${api}/git/other.git`);
    await paas(["apps:destroy", "-a", "shop", "--confirm", "shop"]);
    expect(git.remotes.get("paas")).toBe(`${api}/git/other.git`);
  });
});

describe("git:remote", () => {
  it("sets the remote to the app's git URL", async () => {
    const result = await paas(["git:remote", "-a", "shop", "-r", "production"]);
    expect(result.stdout).toBe(`set git remote production to ${api}/git/shop.git\n`);
    expect(git.remotes.get("production")).toBe(`${api}/git/shop.git`);
  });
});

describe("config", () => {
  it("sets, shows, gets and unsets config vars", async () => {
    const set = await paas([
      "config:set",
      "-a",
      "shop",
      "GREETING=hello world",
      "DATABASE_URL=pg://h/db?a=b",
    ]);
    expect(set).toMatchObject({
      code: 0,
      stdout:
        "Setting GREETING, DATABASE_URL on shop (not deployed yet: stored for its first deploy)... done\nDATABASE_URL: pg://h/db?a=b\nGREETING:     hello world\n",
    });
    expect(requests.at(-1)).toMatchObject({
      method: "PATCH",
      body: { GREETING: "hello world", DATABASE_URL: "pg://h/db?a=b" },
    });

    expect((await paas(["config", "-a", "shop"])).stdout).toBe(
      "=== shop Config Vars\nDATABASE_URL: pg://h/db?a=b\nGREETING:     hello world\n",
    );
    expect((await paas(["config", "-a", "shop", "--shell"])).stdout).toBe(
      "DATABASE_URL='pg://h/db?a=b'\nGREETING='hello world'\n",
    );
    expect(JSON.parse((await paas(["config", "-a", "shop", "--json"])).stdout)).toEqual({
      GREETING: "hello world",
      DATABASE_URL: "pg://h/db?a=b",
    });
    expect((await paas(["config:get", "GREETING", "-a", "shop"])).stdout).toBe("hello world\n");

    const unset = await paas(["config:unset", "-a", "shop", "GREETING"]);
    expect(unset.stdout).toBe(
      "Unsetting GREETING on shop (not deployed yet: stored for its first deploy)... done\n",
    );
    expect(requests.at(-1)?.body).toEqual({ GREETING: null });
    expect(await paas(["config:get", "GREETING", "-a", "shop"])).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "error: config var GREETING is not set on shop\n",
    });
  });

  it("says it restarts a deployed app, and unsets only keys that are set", async () => {
    const shop = apps.get("shop")!;
    shop.release = { version: "v2", description: "Deploy 1234567", createdAt: "2024-05-01T11:00:00Z" };
    shop.config = { A: "1" };
    const set = await paas(["config:set", "-a", "shop", "B=2"]);
    expect(set.stdout).toBe("Setting B and restarting shop... done\nB: 2\n");

    requests = [];
    const none = await paas(["config:unset", "-a", "shop", "NOPE"]);
    expect(none).toMatchObject({
      code: 0,
      stdout: "NOPE is not set on shop: nothing to unset, no new release\n",
    });
    expect(requests.filter((r) => r.method === "PATCH")).toEqual([]);

    const some = await paas(["config:unset", "-a", "shop", "A", "NOPE"]);
    expect(some).toMatchObject({
      code: 0,
      stdout: "NOPE is not set on shop\nUnsetting A and restarting shop... done\n",
    });
    expect(requests.at(-1)).toMatchObject({ method: "PATCH", body: { A: null } });
  });

  it("rejects bad assignments before calling the API", async () => {
    const result = await paas(["config:set", "-a", "shop", "A=1", "NOEQUALS"]);
    expect(result).toMatchObject({
      code: 1,
      stderr: 'error: "NOEQUALS" is not KEY=value: use paas config:set KEY=value [KEY=value ...]\n',
    });
    expect(requests).toEqual([]);
  });
});

describe("ps, logs, releases", () => {
  it("prints processes as a table", async () => {
    expect((await paas(["ps", "-a", "shop"])).stdout).toBe(
      [
        "NAME      STATE    UPTIME  RELEASE  RESTARTS  CPU  MEMORY  COMMAND",
        "web.1     up       5m 0s   v2       0         -    -       node server.js",
        "worker.1  crashed  -       v2       3         -    -       node worker.js",
        "",
      ].join("\n"),
    );
  });

  it("prints recent logs, asking for -n lines", async () => {
    expect((await paas(["logs", "-a", "shop", "-n", "5"])).stdout).toBe(
      "2024-05-01T10:00:00.000001+00:00 app[web.1]: one\n2024-05-01T10:00:00.000001+00:00 app[web.2]: two\n",
    );
    expect(requests.at(-1)?.url).toBe("/api/v1/apps/shop/logs?format=json&num=5");
  });

  it("follows logs as they arrive", async () => {
    const out = (await paas(["logs", "-a", "shop", "--tail", "--json"])).stdout;
    expect(
      out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).message),
    ).toEqual(["first", "sécond", "third"]);
    expect(requests.at(-1)?.url).toBe("/api/v1/apps/shop/logs?format=json&num=100&tail=1");
  });

  it("rejects a bad --num", async () => {
    const result = await paas(["logs", "-a", "shop", "-n", "zero"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: option '-n, --num <lines>' argument 'zero' is invalid/);
  });

  it("lists releases", async () => {
    const result = await paas(["releases", "-a", "shop", "--num", "2"]);
    expect(result.stdout).toBe(
      [
        "=== shop Releases",
        "VERSION  STATUS     DESCRIPTION     USER   WHEN",
        "v2       succeeded  Set A           admin  1 hour ago",
        "v1       succeeded  Deploy 1a2b3c4  admin  2 days ago",
        "",
      ].join("\n"),
    );
    expect(requests.at(-1)?.url).toBe("/api/v1/apps/shop/releases?num=2");
  });
});

describe("failures that are not API errors", () => {
  it("explains a refused connection in one line", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const result = await paas(["apps"], { PAAS_API_URL: `http://127.0.0.1:${port}`, PAAS_API_TOKEN: TOKEN });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: cannot reach the paas API at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (is \`paas server\` running?)\n`,
    });
  });

  it("explains an answer that is not from the paas API", async () => {
    const result = await paas(["url", "-a", "gateway"]);
    expect(result.stderr).toBe(
      `error: the server at ${api} answered 502 Bad Gateway (is ${api} the paas API?)\n`,
    );
  });

  it("uses commander's usage errors with exit code 1", async () => {
    const result = await paas(["config:get"]);
    expect(result).toMatchObject({ code: 1, stderr: "error: missing required argument 'key'\n" });
    expect((await paas(["nope"])).code).toBe(1);
    expect((await paas(["--version"])).code).toBe(0);
  });
});
