import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import ssh2, { type AuthContext, type Connection, type ServerChannel } from "ssh2";
import type { Decision } from "../auth/policy.js";
import type { Settings } from "../config.js";
import { isPaasError, messageOf } from "../errors.js";
import { parseAppName } from "../names.js";
import type { Store } from "../store/index.js";
import { fingerprintOf } from "../store/ssh-keys.js";
import type { Repos } from "./repos.js";
import { ensureHostKey } from "./ssh-keys.js";

// git over SSH: `git push ssh://git@HOST:PORT/APP.git main`. Users authenticate with a
// registered public key (paas keys:add); the only commands are git-receive-pack (push)
// and git-upload-pack (clone/fetch) on an app's repository, each asked of the one
// authorization policy. A push runs the same pre-receive hook as over HTTP, so the build
// streams back as "remote:" lines and a failed deploy rejects the push.

export const ONLY_GIT =
  "paas: only git push/fetch are allowed over SSH (git push ssh://git@HOST:PORT/APP.git main)";

export interface SshDeps {
  settings: Settings;
  store: Store;
  repos: Repos;
  hookSecret: string;
  hookUrl: () => string;
  /** The policy's answer for a user doing git:push / git:fetch on an app. */
  authorize: (user: string, action: "git:push" | "git:fetch", app: string) => Promise<Decision>;
  log: (msg: string, ctx?: Record<string, unknown>) => void;
}

export interface GitCommand {
  service: "git-receive-pack" | "git-upload-pack";
  app: string;
}

/** `git-receive-pack '/APP.git'` (what git sends) -> service and app; null for anything else. */
export function parseGitCommand(command: string): GitCommand | null {
  const m = /^git[ -](receive-pack|upload-pack) +'?\/?([^'/\s]+?)(?:\.git)?\/?'?$/.exec(command.trim());
  if (!m) return null;
  try {
    return { service: `git-${m[1]}` as GitCommand["service"], app: parseAppName(m[2]) };
  } catch {
    return null;
  }
}

export interface SshServer {
  port: number;
  close(): Promise<void>;
}

export async function startSshServer(deps: SshDeps): Promise<SshServer> {
  const hostKey = ensureHostKey(deps.settings.dataDir);
  const server = new ssh2.Server({ hostKeys: [hostKey], ident: "paas" }, (client) => onClient(deps, client));
  server.on("error", (err: Error) => deps.log("ssh server error", { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new Error(
              `port ${deps.settings.sshPort} on ${deps.settings.bind} is in use: stop what uses it or set PAAS_SSH_PORT`,
            )
          : err,
      ),
    );
    server.listen({ port: deps.settings.sshPort ?? 0, host: deps.settings.bind }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const clients = new Set<Connection>();
  server.on("connection", (c: Connection) => {
    clients.add(c);
    c.on("close", () => clients.delete(c));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of clients) c.end();
        setTimeout(resolve, 5_000).unref();
      }),
  };
}

function onClient(deps: SshDeps, client: Connection): void {
  let user: string | null = null;
  let fingerprint = "";
  client.on("error", (err) => deps.log("ssh client error", { error: err.message }));
  client.on("authentication", (ctx) => {
    void authenticate(deps, ctx).then(
      (who) => {
        if (who) {
          user = who.user;
          fingerprint = who.fingerprint;
        }
      },
      (err) => {
        deps.log("ssh authentication failed", { error: messageOf(err) });
        ctx.reject();
      },
    );
  });
  client.on("ready", () => {
    client.on("session", (acceptSession) => {
      const session = acceptSession();
      let gitProtocol = "";
      session.on("env", (accept, reject, info) => {
        // Only the git wire-protocol version; nothing else reaches git's environment.
        if (info.key === "GIT_PROTOCOL" && /^[\w=:.,-]{1,64}$/.test(info.val)) {
          gitProtocol = info.val;
          accept?.();
        } else reject?.();
      });
      // A pty is agreed to (and never made): refusing it makes `ssh -t` end without our line.
      session.on("pty", (accept) => accept?.());
      session.on("x11", (_accept, reject) => reject?.());
      session.on("auth-agent", (_accept, reject) => reject?.());
      session.on("subsystem", (accept) => refuse(accept()));
      session.on("shell", (accept) => refuse(accept()));
      session.on("exec", (accept, _reject, info) => {
        const channel = accept();
        void runGit(deps, channel, info.command, user ?? "", fingerprint, gitProtocol).catch((err) => {
          deps.log("ssh git failed", { error: messageOf(err) });
          fail(channel, `paas: ${isPaasError(err) ? err.message : "internal error"}`);
        });
      });
    });
  });
  // No port forwarding, no other global requests.
  client.on("request", (_accept, reject) => reject?.());
  client.on("tcpip", (_accept, reject) => reject());
}

/** Public keys only, and only registered ones; the signature proves the client holds the key. */
async function authenticate(
  deps: SshDeps,
  ctx: AuthContext,
): Promise<{ user: string; fingerprint: string } | null> {
  if (ctx.method !== "publickey") {
    ctx.reject(["publickey"]);
    return null;
  }
  const fingerprint = fingerprintOf(ctx.key.data);
  const record = await deps.store.sshKeys.get(fingerprint);
  if (!record || !Buffer.from(record.blob, "base64").equals(ctx.key.data)) {
    deps.log("ssh key refused: not registered", { fingerprint });
    ctx.reject(["publickey"]);
    return null;
  }
  // No signature yet: the client asks whether this key would do.
  if (!ctx.signature || !ctx.blob) {
    ctx.accept();
    return null;
  }
  const key = ssh2.utils.parseKey(ctx.key.data);
  const pub = Array.isArray(key) ? key[0] : key;
  if (!pub || pub instanceof Error || pub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
    ctx.reject(["publickey"]);
    return null;
  }
  ctx.accept();
  return { user: record.user, fingerprint };
}

async function runGit(
  deps: SshDeps,
  channel: ServerChannel,
  command: string,
  user: string,
  fingerprint: string,
  gitProtocol: string,
): Promise<void> {
  const cmd = parseGitCommand(command);
  if (!cmd) return refuse(channel);
  const { app, service } = cmd;
  const action = service === "git-receive-pack" ? "git:push" : "git:fetch";
  if (!(await deps.store.apps.get(app as never)) || !deps.repos.exists(app)) {
    return fail(channel, `paas: app "${app}" not found: create it with \`paas apps:create ${app}\``);
  }
  const decision = await deps.authorize(user, action, app);
  if (!decision.allow) return fail(channel, `paas: ${decision.reason}`);
  await deps.repos.installHook(app);
  deps.log("ssh git", { app, service, user, key: fingerprint });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PAAS_HOOK_URL: deps.hookUrl(),
    PAAS_HOOK_SECRET: deps.hookSecret,
    PAAS_APP: app,
    PAAS_DATA_DIR: deps.settings.dataDir,
    PAAS_USER: user,
  };
  if (gitProtocol) env.GIT_PROTOCOL = gitProtocol;
  const child = spawn("git", [service.slice(4), deps.repos.pathOf(app)], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.on("data", (d: Buffer) => channel.stderr.write(d));
  child.stdin.on("error", (err) => deps.log("git over ssh: input closed early", { app, error: err.message }));
  channel.on("close", () => {
    if (child.exitCode === null) child.kill();
  });
  const code = await new Promise<number>((resolve) => {
    child.on("error", () => resolve(1));
    child.on("close", (c) => resolve(c ?? 1));
  });
  channel.exit(code);
  channel.end();
}

function refuse(channel: ServerChannel): void {
  fail(channel, ONLY_GIT);
}

function fail(channel: ServerChannel, line: string): void {
  channel.stderr.write(`${line}\n`);
  channel.exit(1);
  channel.end();
}

/**
 * The git role's SSH server, unless PAAS_SSH_PORT=off. A busy default port (another
 * platform on this host) only disables SSH, with a line; a port set on purpose must work.
 */
export async function startSshRole(deps: SshDeps): Promise<SshServer | null> {
  if (deps.settings.sshPort === null) return null;
  try {
    return await startSshServer(deps);
  } catch (err) {
    if (deps.settings.sshPortSet || !/in use/.test(messageOf(err))) throw err;
    deps.log("ssh git is off: the default port 2222 is in use (set PAAS_SSH_PORT)", {});
    return null;
  }
}
