import { describe, expect, it } from "vitest";
import { formatAccessLog } from "../../src/router/access-log.js";
import { classifyUpstreamError, TIMEOUT_CODE } from "../../src/router/failures.js";
import { forwardedHeaders, requestIdFrom } from "../../src/router/headers.js";
import {
  Balancer,
  buildTable,
  emptyTable,
  lookup,
  normalizeHost,
  validateEntry,
  withEntry,
} from "../../src/router/table.js";
import type { RouteEntry } from "../../src/store/routes.js";

const b = (port: number) => ({ host: "127.0.0.1", port });
const entry = (app: string, ports: number[] = [], domains: string[] = []): RouteEntry => ({
  app,
  backends: ports.map(b),
  domains,
});

describe("normalizeHost", () => {
  it.each([
    ["web.example.com", "web.example.com"],
    ["Web.Example.COM", "web.example.com"],
    ["web.example.com:8080", "web.example.com"],
    ["web.example.com.", "web.example.com"],
    ["web.example.com.:443", "web.example.com"],
    ["  web.example.com  ", "web.example.com"],
    ["[::1]:8080", "[::1]"],
    ["[::1]", "[::1]"],
    ["127.0.0.1:80", "127.0.0.1"],
  ])("%s -> %s", (raw, want) => {
    expect(normalizeHost(raw)).toBe(want);
  });

  it("gives null for a missing or empty host", () => {
    expect(normalizeHost(undefined)).toBeNull();
    expect(normalizeHost("")).toBeNull();
    expect(normalizeHost(":8080")).toBeNull();
    expect(normalizeHost(".")).toBeNull();
  });
});

describe("route table", () => {
  const table = buildTable(
    [entry("web", [3000]), entry("api", [3001, 3002], ["api.example.com", "WWW.Example.org."])],
    "paas.test",
  );

  it("serves <app>.<domain>", () => {
    expect(lookup(table, "web.paas.test")?.app).toBe("web");
    expect(lookup(table, "api.paas.test:8080")?.app).toBe("api");
    expect(lookup(table, "WEB.PAAS.TEST.")?.app).toBe("web");
  });

  it("serves custom domains, normalised", () => {
    expect(lookup(table, "api.example.com")?.app).toBe("api");
    expect(lookup(table, "www.example.org:443")?.app).toBe("api");
  });

  it("knows nothing of other hosts", () => {
    expect(lookup(table, "nope.paas.test")).toBeNull();
    expect(lookup(table, "paas.test")).toBeNull();
    expect(lookup(table, "web.paas.test.evil.com")).toBeNull();
    expect(lookup(table, "example.com")).toBeNull();
    expect(lookup(table, undefined)).toBeNull();
  });

  it("matches a wildcard domain one or more labels deep, never the bare name", () => {
    const t = buildTable([entry("shop", [1], ["*.shops.test"])], "paas.test");
    expect(lookup(t, "alice.shops.test")?.app).toBe("shop");
    expect(lookup(t, "a.b.shops.test")?.app).toBe("shop");
    expect(lookup(t, "shops.test")).toBeNull();
  });

  it("prefers an exact name over a wildcard", () => {
    const t = buildTable(
      [entry("shop", [1], ["*.shops.test"]), entry("blog", [2], ["blog.shops.test"])],
      "x.test",
    );
    expect(lookup(t, "blog.shops.test")?.app).toBe("blog");
    expect(lookup(t, "cart.shops.test")?.app).toBe("shop");
  });

  it("never lets a custom domain take another app's platform name", () => {
    const t = buildTable([entry("thief", [1], ["web.paas.test"]), entry("web", [2])], "paas.test");
    expect(lookup(t, "web.paas.test")?.app).toBe("web");
    expect(t.conflicts).toEqual(["web.paas.test claimed by thief, kept for web"]);
  });

  it("settles a custom domain claimed twice the same way whatever the input order", () => {
    const a = entry("alpha", [1], ["shared.test"]);
    const z = entry("zulu", [2], ["shared.test"]);
    expect(lookup(buildTable([a, z], "p.test"), "shared.test")?.app).toBe("alpha");
    expect(lookup(buildTable([z, a], "p.test"), "shared.test")?.app).toBe("alpha");
  });

  it("withEntry builds a new table and leaves the old one alone", () => {
    const next = withEntry(table, "web", entry("web", [4000], ["web.example.net"]));
    expect(lookup(next, "web.example.net")?.backends).toEqual([b(4000)]);
    expect(lookup(table, "web.example.net")).toBeNull();
    expect(lookup(table, "web.paas.test")?.backends).toEqual([b(3000)]);
    expect(lookup(next, "api.example.com")?.app).toBe("api");
  });

  it("withEntry(null) removes the app and its domains", () => {
    const next = withEntry(table, "api", null);
    expect(lookup(next, "api.paas.test")).toBeNull();
    expect(lookup(next, "api.example.com")).toBeNull();
    expect(lookup(next, "web.paas.test")?.app).toBe("web");
  });

  it("keeps a known app with no backends (the router answers 503, not 404)", () => {
    const t = withEntry(emptyTable("paas.test"), "idle", entry("idle"));
    expect(lookup(t, "idle.paas.test")).toEqual(entry("idle"));
  });
});

describe("validateEntry", () => {
  it("accepts a well-formed entry and fills missing lists", () => {
    expect(validateEntry({ app: "web", backends: [{ host: "127.0.0.1", port: 80, id: "c1" }] })).toEqual({
      app: "web",
      backends: [{ host: "127.0.0.1", port: 80, id: "c1" }],
      domains: [],
    });
  });

  it.each([
    [null, /not an object/],
    [{ backends: [] }, /missing app/],
    [{ app: "web", backends: "x" }, /backends is not a list/],
    [{ app: "web", backends: [{ host: "h" }] }, /needs host and port/],
    [{ app: "web", backends: [{ host: "h", port: 70000 }] }, /needs host and port/],
    [{ app: "web", domains: [1] }, /domains/],
  ])("rejects %j", (raw, why) => {
    expect(() => validateEntry(raw)).toThrow(why);
  });
});

describe("Balancer", () => {
  it("goes round robin per app", () => {
    const bal = new Balancer();
    const two = entry("two", [1, 2]);
    const three = entry("three", [7, 8, 9]);
    const picks = [
      bal.pick(two),
      bal.pick(three),
      bal.pick(two),
      bal.pick(three),
      bal.pick(two),
      bal.pick(three),
    ];
    expect(picks.map((p) => p?.port)).toEqual([1, 7, 2, 8, 1, 9]);
  });

  it("gives null for an app with no backends", () => {
    expect(new Balancer().pick(entry("none"))).toBeNull();
  });

  it("skips tried backends and gives null when all were tried", () => {
    const bal = new Balancer();
    const e = entry("web", [1, 2]);
    expect(bal.pick(e, new Set(["127.0.0.1:1"]))?.port).toBe(2);
    expect(bal.pick(e, new Set(["127.0.0.1:1", "127.0.0.1:2"]))).toBeNull();
  });

  it("passes over a backend marked down until the mark expires", () => {
    let now = 1_000;
    const bal = new Balancer(() => now);
    const e = entry("web", [1, 2]);
    bal.markDown(b(1), 5_000);
    expect([bal.pick(e), bal.pick(e), bal.pick(e)].map((p) => p?.port)).toEqual([2, 2, 2]);
    now += 5_001;
    expect(bal.isDown(b(1))).toBe(false);
    expect(new Set([bal.pick(e)?.port, bal.pick(e)?.port])).toEqual(new Set([1, 2]));
  });

  it("still tries a down backend when every one is down", () => {
    const bal = new Balancer(() => 0);
    const e = entry("web", [1, 2]);
    bal.markDown(b(1), 1_000);
    bal.markDown(b(2), 1_000);
    expect(bal.pick(e)).not.toBeNull();
    expect(bal.pick(e, new Set(["127.0.0.1:1", "127.0.0.1:2"]))).toBeNull();
  });

  it("copes with the backend list shrinking under it", () => {
    const bal = new Balancer();
    bal.pick(entry("web", [1, 2, 3]));
    bal.pick(entry("web", [1, 2, 3]));
    expect(bal.pick(entry("web", [5]))?.port).toBe(5);
  });
});

describe("forwarded headers", () => {
  const conn = {
    remoteAddress: "::ffff:10.0.0.7",
    localPort: 8080,
    encrypted: false,
    host: "web.paas.test:8080",
  };

  it("appends to X-Forwarded-For and describes this hop", () => {
    expect(forwardedHeaders({ ...conn, forwardedFor: "203.0.113.9" }, "rid")).toEqual({
      "x-forwarded-for": "203.0.113.9, 10.0.0.7",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "web.paas.test:8080",
      "x-forwarded-port": "8080",
      "x-request-id": "rid",
    });
  });

  it("starts X-Forwarded-For when absent and joins repeated headers", () => {
    expect(forwardedHeaders({ ...conn, forwardedFor: undefined }, "r")["x-forwarded-for"]).toBe("10.0.0.7");
    expect(forwardedHeaders({ ...conn, forwardedFor: ["1.1.1.1", "2.2.2.2"] }, "r")["x-forwarded-for"]).toBe(
      "1.1.1.1, 2.2.2.2, 10.0.0.7",
    );
  });

  it("says https on an encrypted connection", () => {
    expect(
      forwardedHeaders({ ...conn, encrypted: true, forwardedFor: undefined }, "r")["x-forwarded-proto"],
    ).toBe("https");
  });

  it("keeps a sane request id and replaces a bad one", () => {
    expect(requestIdFrom("abc-123")).toBe("abc-123");
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom("bad id\r\nx: y")).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom("x".repeat(201))).toHaveLength(36);
  });
});

describe("upstream errors", () => {
  it("retries a refused connection for any method", () => {
    expect(classifyUpstreamError("ECONNREFUSED", "POST")).toMatchObject({ markDown: true, retry: true });
    expect(classifyUpstreamError("ECONNREFUSED", "POST").failure.status).toBe(503);
  });

  it("retries a reset only for idempotent methods", () => {
    expect(classifyUpstreamError("ECONNRESET", "GET").retry).toBe(true);
    expect(classifyUpstreamError("ECONNRESET", "POST").retry).toBe(false);
    expect(classifyUpstreamError("ECONNRESET", "POST").failure.status).toBe(502);
  });

  it("answers 504 for a timeout and 502 for anything else, without retry", () => {
    expect(classifyUpstreamError(TIMEOUT_CODE, "GET")).toMatchObject({
      retry: false,
      failure: { status: 504 },
    });
    expect(classifyUpstreamError("HPE_INVALID_CONSTANT", "GET")).toMatchObject({
      retry: false,
      markDown: false,
      failure: { status: 502 },
    });
  });
});

describe("access log line", () => {
  const base = {
    method: "GET",
    host: "web.paas.test",
    path: "/a?b=1",
    status: 200,
    requestId: "r1",
    fwd: "127.0.0.1",
    app: "web",
    backend: "127.0.0.1:3000",
    dyno: "web.1",
    connectMs: 0,
    serviceMs: 3.4,
    bytes: 512,
    protocol: "http" as const,
  };

  it("reads like Heroku's router log", () => {
    expect(formatAccessLog(base)).toBe(
      'at=info method=GET path="/a?b=1" host=web.paas.test request_id=r1 fwd="127.0.0.1" dyno=web.1 connect=0ms service=3ms status=200 bytes=512 protocol=http',
    );
  });

  it("names the error when the router answered", () => {
    const line = formatAccessLog({ ...base, status: 503, code: "H14", desc: "No web processes running" });
    expect(line.startsWith('at=error code=H14 desc="No web processes running" method=GET')).toBe(true);
  });

  it("quotes client-controlled values so they cannot forge fields or lines", () => {
    const line = formatAccessLog({ ...base, host: "x status=200\nat=info", path: '/"\n' });
    expect(line).not.toContain("\n");
    expect(line).toContain('host="x status=200\\nat=info"');
  });
});
