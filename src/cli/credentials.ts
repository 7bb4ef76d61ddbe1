import fs from "node:fs";
import path from "node:path";
import { invalid, PaasError } from "../errors.js";

// Where the CLI keeps its API URL and token: ~/.config/paas/credentials.json for the CLI
// and a ~/.netrc entry for git, so `git push paas main` over HTTP asks nothing (Heroku
// does the same). PAAS_API_URL / PAAS_API_TOKEN override the saved file.

export interface Credentials {
  api: string;
  token: string;
}

export type Env = Record<string, string | undefined>;

export const NETRC_LOGIN = "paas";

export const LOGIN_HINT =
  "run `paas login --api URL --token TOKEN` (the admin token is in $PAAS_DATA_DIR/admin-token on the server)";

export function credentialsPath(home: string): string {
  return path.join(home, ".config", "paas", "credentials.json");
}

export function netrcPath(home: string): string {
  return path.join(home, ".netrc");
}

/** "http://h:5100/" or "http://h:5100/api/v1" -> "http://h:5100". */
export function normalizeApiUrl(raw: string): string {
  if (!/^https?:\/\//i.test(raw.trim())) {
    throw invalid(`API URL "${raw}" must start with http:// or https://, e.g. http://127.0.0.1:5100`);
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid(`API URL "${raw}" is not a URL: give one like http://127.0.0.1:5100`);
  }
  url.search = "";
  url.hash = "";
  return url
    .toString()
    .replace(/\/+$/, "")
    .replace(/\/api\/v1$/, "");
}

export function checkToken(token: string): string {
  const trimmed = token.trim();
  if (!trimmed) throw invalid("the token is empty: " + LOGIN_HINT);
  if (/[\s"'\\]/.test(trimmed)) throw invalid("the token must not contain spaces, quotes or backslashes");
  return trimmed;
}

/** Host name git and curl look up in ~/.netrc for this API URL. */
export function netrcMachine(api: string): string {
  return new URL(api).hostname.replace(/^\[(.*)\]$/, "$1");
}

export function readSavedCredentials(home: string): Credentials | null {
  const file = credentialsPath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PaasError("internal", `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const data = JSON.parse(text) as Partial<Credentials>;
    if (typeof data.api === "string" && typeof data.token === "string")
      return { api: data.api, token: data.token };
  } catch {
    // fall through to the message below
  }
  throw invalid(`${file} is damaged: ${LOGIN_HINT}`);
}

/** The credentials to use: environment first, then the saved file. */
export function loadCredentials(env: Env, home: string): Credentials {
  const saved = env.PAAS_API_URL && env.PAAS_API_TOKEN ? null : readSavedCredentials(home);
  const api = env.PAAS_API_URL || saved?.api;
  const token = env.PAAS_API_TOKEN || saved?.token;
  if (!api || !token) throw new PaasError("unauthorized", `not logged in: ${LOGIN_HINT}`);
  return { api: normalizeApiUrl(api), token };
}

export function saveCredentials(home: string, creds: Credentials): void {
  const file = credentialsPath(home);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writePrivate(file, JSON.stringify(creds, null, 2) + "\n");
  const netrc = netrcPath(home);
  const before = readIfExists(netrc) ?? "";
  writePrivate(netrc, upsertNetrcEntry(before, netrcMachine(creds.api), NETRC_LOGIN, creds.token));
}

/** Forget the saved credentials and their netrc entry; returns what was removed. */
export function removeCredentials(home: string): Credentials | null {
  let saved: Credentials | null;
  try {
    saved = readSavedCredentials(home);
  } catch {
    saved = null; // a damaged file goes too; its netrc entry cannot be identified
  }
  fs.rmSync(credentialsPath(home), { force: true });
  if (!saved) return null;
  const netrc = netrcPath(home);
  const before = readIfExists(netrc);
  if (before !== null) {
    const after = removeNetrcEntry(before, netrcMachine(saved.api));
    if (after !== before) {
      if (after.trim() === "") fs.rmSync(netrc, { force: true });
      else writePrivate(netrc, after);
    }
  }
  return saved;
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Written in place (a symlinked dotfile stays a symlink), readable by the owner only. */
function writePrivate(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

// --- ~/.netrc editing: pure functions over the file's text --------------------------------

interface NetrcEntry {
  /** null for a `default` entry. */
  machine: string | null;
  start: number;
  end: number;
}

/**
 * The entries of a netrc file with their character spans, so one can be cut out while
 * everything else (other entries, comments, macros, layout) stays byte for byte.
 */
export function netrcEntries(text: string): NetrcEntry[] {
  const tokens = netrcTokens(text);
  const entries: NetrcEntry[] = [];
  let current: NetrcEntry | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok.value === "machine" || tok.value === "default") {
      if (current) entries.push(current);
      const isDefault = tok.value === "default";
      const name = isDefault ? null : (tokens[i + 1]?.value ?? "");
      current = { machine: name, start: lineStart(text, tok.start), end: tok.end };
      if (!isDefault && tokens[i + 1]) {
        i++;
        current.end = tokens[i].end;
      }
    } else if (current) {
      current.end = tok.end;
    }
  }
  if (current) entries.push(current);
  // Each entry owns the rest of its last line, up to the next entry.
  for (let i = 0; i < entries.length; i++) {
    const limit = entries[i + 1]?.start ?? text.length;
    const newline = text.indexOf("\n", entries[i].end);
    entries[i].end = Math.min(limit, newline === -1 ? text.length : newline + 1);
  }
  return entries;
}

/** Where a token's line begins, if only blanks precede it there; else the token itself. */
function lineStart(text: string, pos: number): number {
  let i = pos;
  while (i > 0 && (text[i - 1] === " " || text[i - 1] === "\t")) i--;
  return i === 0 || text[i - 1] === "\n" ? i : pos;
}

interface Token {
  value: string;
  start: number;
  end: number;
}

function netrcTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf("\n", i);
      i = nl === -1 ? text.length : nl;
    } else if (c === '"') {
      const start = i++;
      let value = "";
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i++];
      }
      i++;
      tokens.push({ value, start, end: Math.min(i, text.length) });
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i])) i++;
      const value = text.slice(start, i);
      tokens.push({ value, start, end: i });
      if (value === "macdef") {
        // A macro's body runs to the next empty line and is not netrc syntax.
        const nl = text.indexOf("\n", i);
        if (nl === -1) break;
        const blank = text.indexOf("\n\n", nl);
        const bodyEnd = blank === -1 ? text.length : blank + 1;
        tokens.push({ value: "", start: nl + 1, end: bodyEnd });
        i = bodyEnd;
      }
    }
  }
  return tokens;
}

/** Add `machine M login L password P`, replacing any entries for M, keeping the rest. */
export function upsertNetrcEntry(text: string, machine: string, login: string, password: string): string {
  const line = `machine ${machine} login ${login} password ${password}\n`;
  const matches = netrcEntries(text).filter((e) => e.machine === machine);
  if (matches.length === 0) {
    // A `default` entry must stay last, so a new machine goes before it.
    const fallback = netrcEntries(text).find((e) => e.machine === null);
    if (fallback) return text.slice(0, fallback.start) + line + text.slice(fallback.start);
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    return text + sep + line;
  }
  let out = text;
  for (const entry of [...matches].reverse()) {
    const replacement = entry === matches[0] ? line : "";
    out = out.slice(0, entry.start) + replacement + out.slice(entry.end);
  }
  return out;
}

/** Remove every entry for `machine`; other text is untouched. */
export function removeNetrcEntry(text: string, machine: string): string {
  let out = text;
  for (const entry of netrcEntries(text).reverse()) {
    if (entry.machine === machine) out = out.slice(0, entry.start) + out.slice(entry.end);
  }
  return out;
}
