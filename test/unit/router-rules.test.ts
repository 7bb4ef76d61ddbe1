import { describe, expect, it } from "vitest";
import { renderMetrics } from "../../src/api/metrics.js";
import { dynoOf, formatAccessLog } from "../../src/router/access-log.js";
import { Balancer, EJECT_AFTER } from "../../src/router/balancer.js";
import { CONNECT_TIMEOUT_CODE, classifyUpstreamError } from "../../src/router/failures.js";
import { readRequestHead, responseHeaders } from "../../src/router/headers.js";
import {
  cleanRouterSettings,
  formatRouterValue,
  parseRouterKey,
  parseRouterValue,
} from "../../src/store/router-settings.js";
import type { RouterStatsSnapshot } from "../../src/store/router-stats.js";
import { parsePrometheus } from "../helpers/prometheus.js";

// The router's rules as pure functions: hop-by-hop headers, what is retried where, ejection,
// the Heroku log line, router settings values, and the /metrics text.

describe("hop-by-hop headers (RFC 9110 7.6.1)", () => {
  it("drops the client's connection-level fields and whatever Connection names", () => {
    const head = readRequestHead([
      "Host",
      "a.test",
      "Connection",
      "keep-alive, X-Secret-Hop, Upgrade",
      "X-Secret-Hop",
      "1",
      "TE",
      "trailers",
      "Trailer",
      "X-Checksum",
      "Upgrade",
      "h2c",
      "Proxy-Authorization",
      "Basic eA==",
      "Proxy-Connection",
      "keep-alive",
      "Accept",
      "*/*",
    ]);
    expect(head.pass).toEqual(["Host", "a.test", "Accept", "*/*"]);
  });

  it("leaves a chunked body to be chunked again, keeps Content-Length, drops Expect and a second Host", () => {
    const chunked = readRequestHead(["Transfer-Encoding", "chunked", "Expect", "100-continue"]);
    expect(chunked).toMatchObject({ hasBody: true, contentLength: -1, pass: [] });
    expect(readRequestHead(["Content-Length", "42"])).toMatchObject({
      contentLength: 42,
      pass: ["Content-Length", "42"],
    });
    expect(readRequestHead(["Host", "a.test", "host", "b.test"]).pass).toEqual(["Host", "a.test"]);
  });

  it("drops the app's connection-level fields", () => {
    const raw = [
      "Connection",
      "close, X-Hop",
      "X-Hop",
      "1",
      "Keep-Alive",
      "timeout=5",
      "Upgrade",
      "h2",
      "Trailer",
      "X",
      "Vary",
      "Accept",
    ];
    expect(responseHeaders(raw, false, false)).toEqual(["Vary", "Accept"]);
  });
});

describe("classifyUpstreamError", () => {
  it("retries a refused or timed-out connection anywhere, marking the backend down", () => {
    expect(classifyUpstreamError("ECONNREFUSED", "POST")).toMatchObject({ retry: true, markDown: true });
    expect(classifyUpstreamError(CONNECT_TIMEOUT_CODE, "POST")).toMatchObject({
      retry: true,
      failure: { code: "H19" },
    });
  });

  it("retries a reset before any answer for idempotent methods only", () => {
    expect(classifyUpstreamError("ECONNRESET", "GET")).toMatchObject({ retry: true, markDown: true });
    expect(classifyUpstreamError("ECONNRESET", "POST")).toMatchObject({
      retry: false,
      failure: { code: "H13" },
    });
  });

  it("treats a reset on a reused keep-alive connection as the keep-alive race, not a sick backend", () => {
    expect(classifyUpstreamError("ECONNRESET", "GET", true)).toEqual(
      expect.objectContaining({ retry: true, markDown: false, sameBackend: true }),
    );
    expect(classifyUpstreamError("ECONNRESET", "POST", true).retry).toBe(false);
  });
});

describe("Balancer ejection", () => {
  const entry = {
    app: "a",
    domains: [],
    backends: [
      { host: "h", port: 1 },
      { host: "h", port: 2 },
    ],
  };

  it(`ejects a backend after ${EJECT_AFTER} failures in a row, for the cooldown`, () => {
    let now = 0;
    const bal = new Balancer(() => now, 10_000);
    for (let i = 0; i < EJECT_AFTER - 1; i++) expect(bal.failed(entry.backends[0])).toBe(false);
    expect(bal.failed(entry.backends[0])).toBe(true);
    for (let i = 0; i < 4; i++) expect(bal.pick(entry)?.port).toBe(2);
    expect(bal.allEjected(entry)).toBe(false);
    now = 10_001;
    expect(new Set([bal.pick(entry)?.port, bal.pick(entry)?.port])).toEqual(new Set([1, 2]));
  });

  it("answers nothing when every backend is ejected, and a success clears the count", () => {
    const bal = new Balancer(() => 0);
    bal.failed(entry.backends[1]);
    bal.succeeded(entry.backends[1]);
    for (let i = 0; i < EJECT_AFTER - 1; i++) expect(bal.failed(entry.backends[1])).toBe(false);
    for (const b of entry.backends) for (let i = 0; i < EJECT_AFTER; i++) bal.failed(b);
    expect(bal.allEjected(entry)).toBe(true);
    expect(bal.pick(entry)).toBeNull();
    expect(bal.unhealthy()).toEqual(new Set(["h:1", "h:2"]));
  });
});

describe("Heroku router line", () => {
  it("has Heroku's fields in Heroku's order", () => {
    const line = formatAccessLog({
      method: "POST",
      host: "shop.example.com",
      path: "/cart",
      status: 504,
      requestId: "abc",
      fwd: "203.0.113.9",
      dyno: "web.2",
      connectMs: 1.4,
      serviceMs: 30000.2,
      bytes: 512,
      protocol: "https",
      code: "H12",
      desc: "Request timeout",
    });
    expect(line).toBe(
      'at=error code=H12 desc="Request timeout" method=POST path="/cart" host=shop.example.com request_id=abc ' +
        'fwd="203.0.113.9" dyno=web.2 connect=1ms service=30000ms status=504 bytes=512 protocol=https',
    );
  });

  it.each([
    ["shop.web.3", "web.3"],
    ["ns.shop.web.12.a1b2", "web.12"],
    ["somecontainer", "somecontainer"],
  ])("names the dyno of container %s %s", (id, dyno) => {
    expect(dynoOf({ host: "h", port: 1, id })).toBe(dyno);
  });
});

describe("router settings values", () => {
  it.each([
    ["client-max-body-size", "200m", 200 * 1024 * 1024],
    ["client-max-body-size", "512k", 512 * 1024],
    ["first-byte-timeout", "90", 90_000],
    ["connect-timeout", "500ms", 500],
    ["idle-timeout", "2m", 120_000],
  ] as const)("%s %s", (key, raw, want) => {
    expect(parseRouterValue(key, raw)).toBe(want);
    expect(parseRouterValue(key, formatRouterValue(key, want))).toBe(want);
  });

  it("refuses unknown keys, unreadable and out-of-range values in one line", () => {
    expect(() => parseRouterKey("max-body")).toThrow(
      /unknown router setting "max-body": use one of client-max-body-size/,
    );
    expect(() => parseRouterValue("idle-timeout", "soon")).toThrow(
      /is not understood: give a value like 30s/,
    );
    expect(() => parseRouterValue("connect-timeout", "1ms")).toThrow(/must be between 10ms and 120s/);
  });

  it("keeps only well-formed stored settings", () => {
    expect(
      cleanRouterSettings({ maxBodyBytes: "x", idleTimeoutMs: 1_000, maintenance: "yes", extra: 1 }),
    ).toEqual({
      idleTimeoutMs: 1_000,
    });
    expect(cleanRouterSettings({})).toBeUndefined();
  });
});

describe("/metrics text", () => {
  const snap = (worker: string, ok: number): RouterStatsSnapshot => ({
    worker,
    pid: 1,
    at: 0,
    requests: { 'we"ird': { 200: ok, 502: 1 } },
    latency: { buckets: [ok, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], sum: 1.5, count: ok + 1 },
    apps: 3,
    hosts: 4,
    backends: ["h:1", "h:2"],
    unhealthy: worker === "b" ? ["h:2"] : [],
  });

  it("sums every worker and parses as Prometheus text", () => {
    const samples = parsePrometheus(renderMetrics([snap("a", 2), snap("b", 3)], [], 0));
    const get = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(get("paas_router_requests_total", { app: 'we"ird', status: "200" })).toBe(5);
    expect(get("paas_router_request_duration_seconds_bucket", { le: "0.005" })).toBe(5);
    expect(get("paas_router_request_duration_seconds_bucket", { le: "+Inf" })).toBe(7);
    expect(get("paas_router_backends", { state: "down" })).toBe(1);
    expect(get("paas_router_workers")).toBe(2);
  });
});
