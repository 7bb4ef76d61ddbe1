import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { appOf, type Cli, clientOf, withAppOption } from "../context.js";
import { formatAgo, formatTable, heading, json } from "../output.js";

// Users (admins), your own tokens, who may use an app, and the audit trail (admins).

interface UserRow {
  email: string;
  role: string;
  createdAt: string | null;
  password: boolean | null;
  apps: number;
}
interface TokenRow {
  id: string;
  description: string;
  createdAt: string;
  expiresAt: string | null;
}
interface AccessInfo {
  app: string;
  owner: string;
  collaborators: string[];
}
interface AuditRow {
  at: string;
  user: string;
  addr: string;
  action: string;
  app?: string;
  result?: string;
}

const seg = encodeURIComponent;

/** Read a whole stdin (for --password-stdin), first line only. */
export async function readStdinLine(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
}

/** Ask for a password on a terminal without echoing it. */
export async function promptPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw invalid("no terminal to ask for the password: use --password-stdin or --password");
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let value = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const ch of d.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            return resolve(value);
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            return reject(invalid("cancelled"));
          }
          if (ch === "\u007f") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}

/** The password from --password, --password-stdin or a prompt. */
export async function passwordFrom(opts: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (opts.password !== undefined) return opts.password;
  if (opts.passwordStdin) return readStdinLine();
  return promptPassword("Password: ");
}

export function registerUsers(program: Command, cli: Cli): void {
  const api = () => clientOf(cli);

  program
    .command("users")
    .description("list the platform's users (admins)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const users = await api().json<UserRow[]>("GET", "/users");
      if (opts.json) return cli.io.out(json(users));
      const rows = users.map((u) => [
        u.email,
        u.role,
        String(u.apps),
        u.password === null ? "-" : u.password ? "yes" : "no",
        u.createdAt ? formatAgo(u.createdAt, cli.now()) : "-",
      ]);
      for (const line of formatTable(["Email", "Role", "Apps", "Password", "Created"], rows))
        cli.io.out(line);
    });

  program
    .command("users:add <email>")
    .description("add a user and print their first API token (admins)")
    .option("--admin", "make the user an admin")
    .option("--password <password>", "set a password (or use --password-stdin)")
    .option("--password-stdin", "read the password from stdin")
    .option("--json", "print JSON (with a token field)")
    .action(
      async (
        email: string,
        opts: { admin?: boolean; password?: string; passwordStdin?: boolean; json?: boolean },
      ) => {
        const password =
          opts.password !== undefined || opts.passwordStdin ? await passwordFrom(opts) : undefined;
        const body = await api().json<{ email: string; role: string; id: string; token: string }>(
          "POST",
          "/users",
          {
            email,
            admin: Boolean(opts.admin),
            ...(password !== undefined ? { password } : {}),
          },
        );
        if (opts.json) return cli.io.out(json(body));
        cli.io.out(`Added ${body.email} (${body.role}). Their API token (shown once):`);
        cli.io.out(body.token);
      },
    );

  program
    .command("users:remove <email>")
    .description("remove a user and revoke all their tokens (admins)")
    .option("--transfer-to <email>", "give the user's apps to this user first")
    .action(async (email: string, opts: { transferTo?: string }) => {
      const q = opts.transferTo ? `?transferTo=${seg(opts.transferTo)}` : "";
      const body = await api().json<{ removed: string; transferred: string[]; to: string | null }>(
        "DELETE",
        `/users/${seg(email)}${q}`,
      );
      if (body.transferred.length) cli.io.out(`Transferred ${body.transferred.join(", ")} to ${body.to}`);
      cli.io.out(`Removed ${body.removed} and revoked their tokens`);
    });

  program
    .command("users:passwd [email]")
    .description("set a password: yours, or another user's (admins)")
    .option("--password <password>", "the new password (or use --password-stdin)")
    .option("--password-stdin", "read the password from stdin")
    .action(async (email: string | undefined, opts: { password?: string; passwordStdin?: boolean }) => {
      const password = await passwordFrom(opts);
      const path = email ? `/users/${seg(email)}/password` : "/auth/password";
      const body = await api().json<{ user: string }>("PUT", path, { password });
      cli.io.out(`Password set for ${body.user}`);
    });

  program
    .command("auth:token")
    .description("make a new API token for yourself")
    .option("--expires <duration>", "expire after this long: 30d, 12h, 90m")
    .option("--description <text>", "what the token is for")
    .option("--json", "print JSON: {id, token, expiresAt}")
    .action(async (opts: { expires?: string; description?: string; json?: boolean }) => {
      const body = await api().json<TokenRow & { token: string }>("POST", "/auth/tokens", {
        ...(opts.expires ? { expires: opts.expires } : {}),
        ...(opts.description ? { description: opts.description } : {}),
      });
      if (opts.json) return cli.io.out(json(body));
      cli.io.out(`Token ${body.id}${body.expiresAt ? `, expires ${body.expiresAt}` : ""} (shown once):`);
      cli.io.out(body.token);
    });

  program
    .command("auth:tokens")
    .description("list your API tokens (never their secrets)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const tokens = await api().json<TokenRow[]>("GET", "/auth/tokens");
      if (opts.json) return cli.io.out(json(tokens));
      if (tokens.length === 0) return cli.io.out("No tokens (the admin token is not listed)");
      const rows = tokens.map((t) => [
        t.id,
        t.description,
        formatAgo(t.createdAt, cli.now()),
        t.expiresAt ?? "never",
      ]);
      for (const line of formatTable(["ID", "Description", "Created", "Expires"], rows)) cli.io.out(line);
    });

  program
    .command("auth:revoke <id>")
    .description("revoke one of your API tokens")
    .action(async (id: string) => {
      const body = await api().json<{ revoked: string }>("DELETE", `/auth/tokens/${seg(id)}`);
      cli.io.out(`Revoked ${body.revoked}`);
    });

  const showAccess = (a: AccessInfo, asJson?: boolean) => {
    if (asJson) return cli.io.out(json(a));
    cli.io.out(heading(`${a.app} access`));
    const rows = [[a.owner, "owner"], ...a.collaborators.map((c) => [c, "collaborator"])];
    for (const line of formatTable(["User", "Role"], rows)) cli.io.out(line);
  };

  withAppOption(program.command("access"))
    .description("list who may use the app")
    .option("--json", "print JSON")
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await appOf(cli, opts.app);
      showAccess(await api().json<AccessInfo>("GET", `/apps/${seg(app)}/access`), opts.json);
    });

  withAppOption(program.command("access:add <email>"))
    .description("let a user work on the app as a collaborator")
    .action(async (email: string, opts: { app?: string }) => {
      const app = await appOf(cli, opts.app);
      await api().json("POST", `/apps/${seg(app)}/access`, { email });
      cli.io.out(`Added ${email} to ${app} as a collaborator`);
    });

  withAppOption(program.command("access:remove <email>"))
    .description("take a collaborator off the app")
    .action(async (email: string, opts: { app?: string }) => {
      const app = await appOf(cli, opts.app);
      await api().json("DELETE", `/apps/${seg(app)}/access/${seg(email)}`);
      cli.io.out(`Removed ${email} from ${app}`);
    });

  withAppOption(program.command("apps:transfer <email>"))
    .description("give the app to another user (they become its owner)")
    .action(async (email: string, opts: { app?: string }) => {
      const app = await appOf(cli, opts.app);
      const body = await api().json<AccessInfo & { from: string }>("POST", `/apps/${seg(app)}/transfer`, {
        email,
      });
      cli.io.out(`Transferred ${app} from ${body.from} to ${body.owner}`);
    });

  program
    .command("audit")
    .description("who changed what, when and from where, across apps (admins)")
    .option("-a, --app <app>", "only this app")
    .option("-n, --num <n>", "entries to show", "100")
    .option("--json", "print JSON")
    .action(async (opts: { app?: string; num: string; json?: boolean }) => {
      const q = new URLSearchParams({ num: opts.num, ...(opts.app ? { app: opts.app } : {}) });
      const rows = await api().json<AuditRow[]>("GET", `/audit?${q}`);
      if (opts.json) return cli.io.out(json(rows));
      for (const r of rows)
        cli.io.out(
          `${r.at}  ${r.user} (${r.addr})  ${r.action}${r.app ? `  app=${r.app}` : ""}${r.result ? `  ${r.result}` : ""}`,
        );
    });
}
