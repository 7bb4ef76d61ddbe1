import { invalid } from "../errors.js";
import { parseAppName } from "../names.js";
import type { GitRemotes } from "./git-remotes.js";

// Which app a command is about: -a/--app, else the `paas` git remote of the working tree,
// whose URL is `<api>/git/<app>.git` (what `paas apps:create` and `paas git:remote` set).

export const DEFAULT_REMOTE = "paas";

export const NO_APP_MESSAGE =
  "no app given: use -a APP or run inside a repo with a paas remote (paas git:remote -a APP)";

/** "http://h:5100/git/my-app.git" -> "my-app"; null when the URL is not a paas git URL. */
export function appFromRemoteUrl(url: string): string | null {
  const match = /\/git\/([a-z0-9-]+?)(?:\.git)?\/*$/.exec(url.trim());
  return match ? match[1] : null;
}

export async function resolveApp(
  flag: string | undefined,
  cwd: string,
  git: GitRemotes,
  remote = DEFAULT_REMOTE,
): Promise<string> {
  if (flag !== undefined) return parseAppName(flag);
  const url = await git.getUrl(cwd, remote);
  if (url === null) throw invalid(NO_APP_MESSAGE);
  const app = appFromRemoteUrl(url);
  if (app === null) {
    throw invalid(
      `git remote ${remote} (${url}) is not a paas app URL: use -a APP or fix it with paas git:remote -a APP`,
    );
  }
  return app;
}
