import type { Command } from "commander";
import { invalid, PaasError } from "../../errors.js";
import { parseAppName } from "../../names.js";
import { appFromRemoteUrl, DEFAULT_REMOTE } from "../app-resolve.js";
import type { App } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { json } from "../output.js";

// `paas apps:rename OLD NEW` and `paas deploy:image IMAGE` (Dokku's apps:rename and
// git:from-image).

export async function appsRename(
  cli: Cli,
  from: string,
  to: string,
  opts: { remote: string; json?: boolean },
): Promise<void> {
  const old = parseAppName(from);
  const next = parseAppName(to);
  const call = () =>
    clientOf(cli).json<App & { renamedFrom: string }>("POST", `/apps/${encodeURIComponent(old)}/rename`, {
      name: next,
    });
  const app = opts.json ? await call() : await progress(cli.io, `Renaming ${old} to ${next}`, call);
  if (opts.json) cli.io.out(json(app));
  else cli.io.out(`${app.url} | ${app.gitUrl}`);
  // The working tree's remote follows the app when it pointed at the old name.
  const url = await cli.git.getUrl(cli.cwd, opts.remote);
  if (url && appFromRemoteUrl(url) === old) {
    const outcome = await cli.git.setUrl(cli.cwd, opts.remote, app.gitUrl);
    if (!opts.json && outcome !== "unchanged") cli.io.out(`Git remote ${opts.remote} ${outcome}`);
  }
}

interface StreamEntry {
  type: string;
  text?: string;
  ok?: boolean;
  message?: string;
  url?: string;
}

/** Streams the deploy's output as it happens, like a push; a failure is the command's error. */
export async function deployImage(cli: Cli, app: string, image: string): Promise<void> {
  const res = await clientOf(cli).send("POST", `/apps/${encodeURIComponent(app)}/deploy-image`, { image });
  let end: StreamEntry | null = null;
  let buf = "";
  const decoder = new TextDecoder();
  const handle = (line: string) => {
    if (!line.trim()) return;
    const e = JSON.parse(line) as StreamEntry;
    if (e.type === "line") cli.io.out(e.text ?? "");
    else if (e.type === "end") end = e;
  };
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        handle(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  }
  handle(buf + decoder.decode());
  const outcome = end as StreamEntry | null;
  if (!outcome)
    throw new PaasError("unavailable", "the deploy's output ended before its outcome; see `paas releases`");
  if (!outcome.ok) throw new PaasError("deploy_failed", outcome.message ?? "the deploy failed");
}

export function registerAppMoves(program: Command, cli: Cli): void {
  // Dokku's `apps:rename OLD NEW`, or Heroku's `apps:rename NEW` with -a OLD (or the git remote).
  withAppOption(program.command("apps:rename <old-or-new> [new]"))
    .description(
      "rename an app: its config, releases, domains, git repo and running processes move to the new name",
    )
    .option("-r, --remote <remote>", "git remote to update in the current repository", DEFAULT_REMOTE)
    .option("--json", "print JSON")
    .action(async (first: string, second: string | undefined, opts) => {
      if (second !== undefined && opts.app !== undefined && opts.app !== first) {
        throw invalid(`two different apps given (${first} and -a ${opts.app}): give one`);
      }
      const from = second === undefined ? await appOf(cli, opts.app) : first;
      return appsRename(cli, from, second ?? first, opts);
    });
  withAppOption(program.command("deploy:image <image>"))
    .description("release an image that is already in the platform's Docker engine (like a push)")
    .action(async (image, opts) => deployImage(cli, await appOf(cli, opts.app), image));
}
