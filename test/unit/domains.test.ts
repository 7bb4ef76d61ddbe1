import { describe, expect, it } from "vitest";
import { parseOptionsPatch } from "../../src/api/routes/domains.js";
import { formatCerts } from "../../src/cli/commands/certs.js";
import { formatDomains } from "../../src/cli/commands/domains.js";
import { certCovers, parseDomain, routeMatches } from "../../src/domains/names.js";
import { isPaasError } from "../../src/errors.js";
import { backoffMs, namesDue } from "../../src/router/acme.js";
import { redirectTarget } from "../../src/router/front.js";
import { http1RawHeaders, http2ResponseHeaders } from "../../src/router/h2.js";
import { buildTable, lookup } from "../../src/router/table.js";
import type { RouteEntry } from "../../src/store/routes.js";

const reserved = { domain: "paas.test", apiHost: "api.example.net" };

function rejects(raw: string, pattern: RegExp) {
  try {
    parseDomain(raw, reserved);
  } catch (err) {
    expect(isPaasError(err) && err.code).toBe("invalid_input");
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error(`expected ${raw} to be refused`);
}

describe("parseDomain", () => {
  it.each([
    ["www.Example.COM", "www.example.com"],
    ["www.example.com.", "www.example.com"],
    ["*.Example.com", "*.example.com"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["*.münchen.de", "*.xn--mnchen-3ya.de"],
    ["  shop.example.org ", "shop.example.org"],
  ])("%s -> %s", (raw, want) => {
    expect(parseDomain(raw, reserved)).toBe(want);
  });

  it("refuses what is not a name one may claim", () => {
    rejects("", /give a domain name/);
    rejects("127.0.0.1", /IP address/);
    rejects("[::1]", /IP address/);
    rejects("localhost", /two labels/);
    rejects("a.*.example.com", /wildcard is only allowed/);
    rejects("foo*.example.com", /wildcard is only allowed/);
    rejects(`${"a".repeat(64)}.example.com`, /over 63 characters/);
    rejects(`${"abcdefghi.".repeat(26)}com`, /over 253 characters/);
    rejects("under_score.example.com", /characters a domain name cannot have \("_"\)/);
    rejects("not_valid!", /characters a domain name cannot have \("_" "!"\)/);
    rejects("trailing-.example.com", /not a valid domain name/);
    rejects("paas.test", /platform's own domain/);
    rejects("web.paas.test", /platform's own domain/);
    rejects("*.paas.test", /platform's own domain/);
    rejects("api.example.net", /API host/);
    rejects("*.example.net", /API host/);
  });
});

describe("matching", () => {
  it("routes a wildcard over one or more labels, never the bare name", () => {
    expect(routeMatches("*.example.com", "a.example.com")).toBe(true);
    expect(routeMatches("*.example.com", "a.b.example.com")).toBe(true);
    expect(routeMatches("*.example.com", "example.com")).toBe(false);
    expect(routeMatches("*.example.com", "badexample.com")).toBe(false);
  });

  it("covers with a certificate wildcard one label only, as TLS clients do", () => {
    expect(certCovers("*.example.com", "a.example.com")).toBe(true);
    expect(certCovers("*.example.com", "a.b.example.com")).toBe(false);
    expect(certCovers("*.example.com", "*.example.com")).toBe(true);
    expect(certCovers("a.example.com", "*.example.com")).toBe(false);
  });
});

describe("route table precedence", () => {
  const e = (app: string, domains: string[], extra: Partial<RouteEntry> = {}): RouteEntry => ({
    app,
    backends: [{ host: "127.0.0.1", port: 1 }],
    domains,
    ...extra,
  });
  const table = buildTable(
    [
      e("wide", ["*.example.com"]),
      e("narrow", ["*.shop.example.com"]),
      e("exact", ["www.shop.example.com"]),
      e("hidden", [], { domainOptions: { defaultDomain: false, httpsRedirect: false, hstsMaxAge: null } }),
    ],
    "paas.test",
  );

  it("an exact name first, then the longest wildcard suffix", () => {
    expect(lookup(table, "www.shop.example.com")?.app).toBe("exact");
    expect(lookup(table, "a.shop.example.com")?.app).toBe("narrow");
    expect(lookup(table, "x.y.shop.example.com")?.app).toBe("narrow");
    expect(lookup(table, "shop.example.com")?.app).toBe("wide");
    expect(lookup(table, "a.b.example.com:8080")?.app).toBe("wide");
    expect(lookup(table, "example.com")).toBeNull();
    expect(lookup(table, "wide.paas.test")?.app).toBe("wide");
  });

  it("drops <app>.<domain> when the default domain is off", () => {
    expect(lookup(table, "hidden.paas.test")).toBeNull();
    expect(table.httpsPolicies).toBe(false);
  });

  it("notes when some app has an HTTPS policy", () => {
    const t = buildTable(
      [e("a", [], { domainOptions: { defaultDomain: true, httpsRedirect: true, hstsMaxAge: null } })],
      "paas.test",
    );
    expect(t.httpsPolicies).toBe(true);
  });
});

describe("https options and ACME timing", () => {
  it("checks an options patch", () => {
    expect(parseOptionsPatch({ httpsRedirect: true, hstsMaxAge: 300 })).toEqual({
      httpsRedirect: true,
      hstsMaxAge: 300,
    });
    expect(() => parseOptionsPatch({ hstsMaxAge: -1 })).toThrow(/hstsMaxAge/);
    expect(() => parseOptionsPatch({ redirect: true })).toThrow(/unknown option/);
    expect(() => parseOptionsPatch({})).toThrow(/at least one/);
  });

  it("redirects to the HTTPS port, left out when it is 443", () => {
    expect(redirectTarget("shop.example.com", "/a?b=1", 443)).toBe("https://shop.example.com/a?b=1");
    expect(redirectTarget("shop.example.com", "/", 8443)).toBe("https://shop.example.com:8443/");
  });

  it("renews names whose certificate has under 30 days left", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const cert = (names: string[], days: number) => ({
      names,
      notAfter: new Date(now.getTime() + days * 86_400_000).toISOString(),
    });
    expect(namesDue(["a.example.com", "b.example.com"], [cert(["a.example.com"], 60)], now, 30)).toEqual([
      "b.example.com",
    ]);
    expect(namesDue(["a.example.com"], [cert(["*.example.com"], 10)], now, 30)).toEqual(["a.example.com"]);
    expect(namesDue(["a.example.com"], [cert(["*.example.com"], 90)], now, 30)).toEqual([]);
  });

  it("backs off from a minute to six hours", () => {
    expect(backoffMs(1)).toBe(60_000);
    expect(backoffMs(3)).toBe(240_000);
    expect(backoffMs(30)).toBe(6 * 3_600_000);
  });
});

describe("HTTP/2 to HTTP/1.1", () => {
  it("turns pseudo-headers into Host, joins cookies, and chunks a body of unknown length", () => {
    const raw = [":method", "POST", ":authority", "shop.example.com", ":scheme", "https", ":path", "/a"];
    expect(http1RawHeaders([...raw, "cookie", "a=1", "cookie", "b=2", "accept", "*/*"], true)).toEqual([
      "host",
      "shop.example.com",
      "accept",
      "*/*",
      "cookie",
      "a=1; b=2",
      "transfer-encoding",
      "chunked",
    ]);
    expect(http1RawHeaders([...raw, "content-length", "3"], true)).toEqual([
      "host",
      "shop.example.com",
      "content-length",
      "3",
    ]);
    expect(http1RawHeaders(raw, false)).toEqual(["host", "shop.example.com"]);
  });

  it("drops connection-specific response headers", () => {
    expect(
      http2ResponseHeaders([
        "Content-Type",
        "text/plain",
        "Transfer-Encoding",
        "chunked",
        "Keep-Alive",
        "5",
        "x",
        "1",
      ]),
    ).toEqual(["Content-Type", "text/plain", "x", "1"]);
  });
});

describe("CLI output", () => {
  it("lists the default and custom domains with the HTTPS options", () => {
    const lines = formatDomains({
      app: "shop",
      default: { hostname: "shop.paas.test", enabled: false },
      domains: [
        { hostname: "*.shop.example", wildcard: true },
        { hostname: "www.shop.example", wildcard: false },
      ],
      options: { defaultDomain: false, httpsRedirect: true, hstsMaxAge: 300 },
    });
    expect(lines[0]).toBe("=== shop Domains");
    expect(lines.join("\n")).toMatch(/shop\.paas\.test\s+default\s+off/);
    expect(lines.join("\n")).toMatch(/\*\.shop\.example\s+wildcard\s+on/);
    expect(lines).toContain("HTTPS redirect: on");
    expect(lines).toContain("HSTS:           max-age=300");
  });

  it("lists certificates with expiry, what is not covered and the ACME state", () => {
    const text = formatCerts({
      app: "shop",
      certs: [
        {
          id: "abcd",
          names: ["www.shop.example"],
          notAfter: "2027-01-01T00:00:00.000Z",
          issuer: "CN=CA",
          source: "acme",
          selfSigned: false,
          daysLeft: 40,
        },
      ],
      uncovered: ["*.shop.example"],
      auto: {
        enabled: true,
        state: "failing",
        message: "rate limited",
        lastAttempt: null,
        nextAttempt: null,
        failures: 2,
      },
    }).join("\n");
    expect(text).toMatch(/abcd\s+www\.shop\.example\s+2027-01-01 \(40 days\)\s+auto/);
    expect(text).toMatch(/Not covered by any certificate: \*\.shop\.example/);
    expect(text).toMatch(/Status:\s+failing/);
    expect(text).toMatch(/Last result:\s+rate limited/);
  });
});
