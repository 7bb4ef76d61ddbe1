import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { invalid } from "../errors.js";

// Custom domain names as users type them -> the one spelling the platform stores, routes
// and matches certificates against: lower-case ASCII (IDN as punycode), no trailing dot,
// optionally one leading `*.` for a wildcard. Pure: the API checks names with these before
// anything is claimed, and the router and the certificate checks use the same matching.

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Names nobody may claim: the platform's own (its API host, PAAS_DOMAIN and what is under it). */
export interface ReservedNames {
  /** PAAS_DOMAIN: `<app>.<domain>` names belong to apps by their name. */
  domain: string;
  /** Host name of the API (from PAAS_API_URL). */
  apiHost: string;
}

/**
 * Check and normalise one custom domain. Throws a one-line invalid() naming the problem.
 * Under PAAS_DOMAIN nothing may be claimed: `<app>.<domain>` is each app's own default
 * name, and a claim there (or a wildcard over it) would shadow apps created later.
 */
export function parseDomain(raw: unknown, reserved?: ReservedNames): string {
  if (typeof raw !== "string" || raw.trim() === "") throw invalid("give a domain name, e.g. www.example.com");
  const shown = raw.replace(/[^\x20-\x7e]/g, "?").slice(0, 80);
  let name = raw.trim().replace(/\.$/, "");
  let wildcard = false;
  if (name.startsWith("*.")) {
    wildcard = true;
    name = name.slice(2);
  }
  if (name.includes("*")) {
    throw invalid(`"${shown}": a wildcard is only allowed as the whole first label, as in *.example.com`);
  }
  if (isIP(name.replace(/^\[|\]$/g, "")) !== 0 || /^[\d.]+$/.test(name)) {
    throw invalid(`"${shown}" is an IP address: give a domain name`);
  }
  const ascii = domainToASCII(name);
  if (ascii === "") throw invalid(`"${shown}" is not a valid domain name`);
  const labels = ascii.split(".");
  const bad = [...new Set(ascii.replace(/[a-z0-9.-]/g, ""))];
  if (bad.length > 0) {
    throw invalid(
      `"${shown}" has characters a domain name cannot have (${bad.map((c) => JSON.stringify(c)).join(" ")}): use letters, digits, hyphens and dots`,
    );
  }
  if (labels.length < 2) throw invalid(`"${shown}" needs at least two labels, e.g. example.com`);
  for (const label of labels) {
    if (label.length > 63)
      throw invalid(`"${shown}": the label "${label.slice(0, 20)}…" is over 63 characters`);
    if (!LABEL.test(label)) throw invalid(`"${shown}" is not a valid domain name (label "${label}")`);
  }
  if (/^\d+$/.test(labels[labels.length - 1]))
    throw invalid(`"${shown}" ends in a number: give a domain name`);
  const full = wildcard ? `*.${ascii}` : ascii;
  if (full.length > 253) throw invalid(`"${shown}" is over 253 characters`);
  if (reserved) {
    const base = reserved.domain.toLowerCase();
    if (ascii === base || ascii.endsWith(`.${base}`)) {
      throw invalid(
        `${full} is the platform's own domain: apps are already served at <app>.${base}; add a domain of your own`,
      );
    }
    const api = reserved.apiHost.toLowerCase();
    if (ascii === api || (wildcard && api.endsWith(`.${ascii}`))) {
      throw invalid(`${full} is the platform's API host and cannot be claimed by an app`);
    }
  }
  return full;
}

/** Several names, checked, normalised and de-duplicated in order. */
export function parseDomains(raws: unknown, reserved?: ReservedNames): string[] {
  if (!Array.isArray(raws) || raws.length === 0) throw invalid("give one or more domain names");
  if (raws.length > 100) throw invalid("give at most 100 domain names at a time");
  return [...new Set(raws.map((r) => parseDomain(r, reserved)))];
}

/** The host of a URL, or "" when it has none. */
export function hostOfUrl(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  } catch {
    return "";
  }
}

/**
 * Does a routing pattern serve a host? Exact names match themselves; `*.example.com`
 * matches one or more labels under example.com (not example.com itself).
 */
export function routeMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === host;
  const suffix = pattern.slice(1);
  return host.length > suffix.length && host.endsWith(suffix);
}

/**
 * Does a certificate name cover a host? As TLS clients check (RFC 6125 6.4.3): a wildcard
 * covers exactly one label, so `*.example.com` covers `a.example.com`, not `a.b.example.com`.
 * A custom domain that is itself a wildcard is covered by the same wildcard only.
 */
export function certCovers(certName: string, host: string): boolean {
  const name = certName.toLowerCase();
  if (name === host) return true;
  if (!name.startsWith("*.") || host.startsWith("*.")) return false;
  const dot = host.indexOf(".");
  return dot > 0 && host.slice(dot) === name.slice(1);
}
