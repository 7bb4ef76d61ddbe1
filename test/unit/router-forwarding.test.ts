import { afterEach, describe, expect, it, vi } from "vitest";
import { formatAccessLog } from "../../src/router/access-log.js";
import { Deadlines, type Timed } from "../../src/router/deadlines.js";
import { upstreamPath } from "../../src/router/exchange.js";
import { forwardedFor, readRequestHead, responseHeaders } from "../../src/router/headers.js";
import { buildTable, HostLookup, type RouteTable } from "../../src/router/table.js";

// The pure pieces of the router's plain-HTTP path: which headers go where, the request
// target, the host memo and the upstream deadline list.

describe("access log quoting", () => {
  it.each(["/", "/a b", '/"x"', "/back\\slash", "/tab\t", "/\u{1F600}", "/\ud800", "/caf\u00e9", ""])(
    "quotes %j as JSON does",
    (path) => {
      const line = formatAccessLog({
        method: "GET",
        host: "h",
        path,
        status: 200,
        requestId: "r",
        fwd: "1.2.3.4",
        connectMs: 0,
        serviceMs: 1,
        bytes: 10,
        protocol: "http",
      });
      expect(line).toContain(` path=${JSON.stringify(path)} `);
      expect(line).not.toContain("undefined");
    },
  );
});

describe("readRequestHead", () => {
  it("keeps the client's headers in order and spelling, minus what the router sets", () => {
    const head = readRequestHead([
      "Host",
      "web.paas.test",
      "Cookie",
      "a=1",
      "X-Forwarded-For",
      "203.0.113.9",
      "X-Forwarded-Proto",
      "https",
      "X-FORWARDED-HOST",
      "evil.test",
      "x-forwarded-port",
      "1",
      "Connection",
      "close",
      "Keep-Alive",
      "timeout=9",
      "X-Request-Id",
      "trace-1",
      "Cookie",
      "b=2",
    ]);
    expect(head).toEqual({
      host: "web.paas.test",
      requestId: "trace-1",
      forwardedFor: "203.0.113.9",
      hasBody: false,
      contentLength: -1,
      pass: ["Host", "web.paas.test", "Cookie", "a=1", "Cookie", "b=2"],
    });
  });

  it("joins repeated X-Forwarded-For, skipping empty ones, and keeps the first Host", () => {
    const head = readRequestHead([
      "x-forwarded-for",
      "1.1.1.1",
      "x-forwarded-for",
      " ",
      "x-forwarded-for",
      "2.2.2.2",
      "host",
      "a.test",
      "host",
      "b.test",
    ]);
    expect(head.forwardedFor).toBe("1.1.1.1, 2.2.2.2");
    expect(head.host).toBe("a.test");
  });

  it("distrusts a repeated X-Request-Id", () => {
    expect(readRequestHead(["x-request-id", "a", "x-request-id", "b"]).requestId).toBe("");
  });

  it.each([
    [["Content-Length", "5"], true],
    [["Content-Length", "0"], false],
    [["Transfer-Encoding", "chunked"], true],
    [[], false],
  ])("%j has a body: %s", (raw, want) => {
    expect(readRequestHead(raw).hasBody).toBe(want);
  });
});

describe("responseHeaders", () => {
  const raw = ["Content-Type", "text/plain", "Connection", "keep-alive", "Keep-Alive", "timeout=5"];

  it("passes the app's headers on without its connection's own", () => {
    expect(responseHeaders([...raw, "Set-Cookie", "a", "Set-Cookie", "b"], false, false)).toEqual([
      "Content-Type",
      "text/plain",
      "Set-Cookie",
      "a",
      "Set-Cookie",
      "b",
    ]);
  });

  it("drops chunking for an HTTP/1.0 client only", () => {
    const chunked = ["Transfer-Encoding", "chunked"];
    expect(responseHeaders(chunked, false, false)).toEqual(chunked);
    expect(responseHeaders(chunked, true, false)).toEqual([]);
  });

  it("asks the client to close while draining", () => {
    expect(responseHeaders(raw, false, true)).toEqual(["Content-Type", "text/plain", "connection", "close"]);
  });
});

describe("forwardedFor", () => {
  it("appends the client address, unmapped from IPv4-in-IPv6", () => {
    expect(forwardedFor("", "::ffff:10.0.0.7")).toBe("10.0.0.7");
    expect(forwardedFor("203.0.113.9", "::1")).toBe("203.0.113.9, ::1");
  });
});

describe("upstreamPath", () => {
  it.each([
    ["/a?b=1", "/a?b=1"],
    ["*", "*"],
    [undefined, "/"],
    ["http://web.paas.test/x?y=1", "/x?y=1"],
    ["http://web.paas.test", "/"],
    ["http://web.paas.test?q", "/?q"],
  ])("%s -> %s", (url, want) => {
    expect(upstreamPath(url)).toBe(want);
  });
});

describe("HostLookup", () => {
  const web = { app: "web", backends: [], domains: [] };

  it("answers like lookup() and starts over when the table changes", () => {
    let table: RouteTable = buildTable([web], "paas.test");
    const hosts = new HostLookup(() => table, 2);
    expect(hosts.get("WEB.paas.test:80")?.app).toBe("web");
    expect(hosts.get("nope.paas.test")).toBeNull();
    expect(hosts.get(undefined)).toBeNull();
    expect(hosts.get("other.paas.test")).toBeNull(); // past max: the memo starts over
    table = buildTable([], "paas.test");
    expect(hosts.get("WEB.paas.test:80")).toBeNull();
  });
});

describe("Deadlines", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const item = (name: string) => ({
    name,
    deadline: 0,
    armed: false,
    prevTimed: null as Timed | null,
    nextTimed: null as Timed | null,
  });

  it("expires what is due, in order, and nothing disarmed or re-armed", () => {
    vi.useFakeTimers();
    let now = 0;
    const expired: string[] = [];
    const d = new Deadlines<ReturnType<typeof item>>(
      100,
      (i) => expired.push(i.name),
      () => now,
    );
    const [a, b, c] = [item("a"), item("b"), item("c")];
    d.arm(a);
    now = 5;
    d.arm(b);
    d.arm(c);
    d.disarm(b);
    now = 100;
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(["a"]);
    d.arm(c); // restarts c's clock: due at 200
    now = 150;
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(["a"]);
    now = 200;
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(["a", "c"]);
    expect([a.armed, b.armed, c.armed]).toEqual([false, false, false]);
    d.arm(b);
    d.clear();
    now = 1_000;
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(["a", "c"]);
  });
});
