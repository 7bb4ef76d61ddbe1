import { BuildFailed } from "../../errors.js";

// bin/release prints YAML. Only a tiny subset matters (Heroku buildpack API v2):
//
//   ---
//   addons: []
//   config_vars: { ... }          (ignored)
//   default_process_types:
//     web: npm start
//
// so this is a small line parser for that shape (plus the `{}` / flow-map forms), not a
// YAML library: a dependency for one map of strings is not worth it.

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v.slice(1, -1);
    }
  }
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  return v;
}

/** Split "a: 1, b: 'x, y'" on top-level commas. */
function splitFlow(body: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (const ch of body) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ",") {
      parts.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim() !== "") parts.push(cur);
  return parts;
}

function parseFlowMap(text: string, where: string): Record<string, string> {
  const body = text.trim().slice(1, -1);
  const out: Record<string, string> = {};
  for (const part of splitFlow(body)) {
    const idx = part.indexOf(":");
    if (idx <= 0)
      throw new BuildFailed(`${where}: cannot read ${JSON.stringify(part.trim())} in default_process_types`);
    out[unquote(part.slice(0, idx))] = unquote(part.slice(idx + 1));
  }
  return out;
}

const stripComment = (line: string) => (/^\s*#/.test(line) ? "" : line);

/** default_process_types from a bin/release output; `where` names the buildpack in errors. */
export function parseReleaseYaml(text: string, where = "bin/release"): Record<string, string> {
  const lines = text.split(/\r?\n/).map(stripComment);
  for (let i = 0; i < lines.length; i++) {
    const m = /^default_process_types:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    const rest = m[1].trim();
    if (rest.startsWith("{")) return parseFlowMap(rest, where);
    if (rest !== "" && rest !== "~" && rest !== "null") {
      throw new BuildFailed(`${where}: default_process_types must be a map, got ${JSON.stringify(rest)}`);
    }
    const out: Record<string, string> = {};
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j];
      if (line.trim() === "") continue;
      if (!/^\s/.test(line)) break; // back at the top level
      const entry = /^\s+([A-Za-z0-9_-]+|"[^"]+"|'[^']+')\s*:\s?(.*)$/.exec(line);
      if (!entry)
        throw new BuildFailed(
          `${where}: cannot read line ${JSON.stringify(line.trim())} in default_process_types`,
        );
      out[unquote(entry[1])] = unquote(entry[2]);
    }
    return out;
  }
  return {};
}

/**
 * Process types of the image: each buildpack's defaults in order (a later buildpack wins,
 * as on Heroku), then the Procfile, whose entries always override.
 */
export function mergeProcessTypes(
  defaults: Record<string, string>[],
  procfile: Record<string, string> | null,
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const d of defaults) Object.assign(merged, d);
  if (procfile) Object.assign(merged, procfile);
  for (const [k, v] of Object.entries(merged)) if (v.trim() === "") delete merged[k];
  return merged;
}
