import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRouter } from "../../src/api/app.js";
import { listRoutes } from "../../src/api/route-policy.js";
import type { Services } from "../../src/api/services.js";
import { loadSettings } from "../../src/config.js";
import { storeOver } from "../../src/store/index.js";
import { Platform } from "../helpers/platform.js";

// Fuzz: random and malformed bodies, headers, paths and queries at every API route of a
// real `paas server` (real Redis) must never get a 5xx: bad input is a 4xx with a message.
// The route list comes from walking the API router, so a new route is fuzzed too.

const lazy = new Redis({ lazyConnect: true });
const walked = (() => {
  const s = {
    settings: loadSettings({ PAAS_DATA_DIR: "/tmp/paas-fuzz-walk", PAAS_NAMESPACE: "walk" }),
    store: storeOver(lazy, "walk"),
    log: () => {},
  } as unknown as Services;
  const outer = apiRouter(s) as unknown as { stack: { handle: { stack?: unknown } }[] };
  const v1 = outer.stack.find((l) => l.handle.stack)?.handle as Parameters<typeof listRoutes>[0];
  // Building the stack image is real work (minutes of debootstrap): its route answers an admin only, fuzzed as a user.
  return listRoutes(v1).map(({ method, path }) => ({ method: method === "ALL" ? "GET" : method, path }));
})();

describe("API fuzz", () => {
  const p = new Platform();
  const app = `fuzz-${Date.now().toString(36)}`;
  let userToken = "";

  beforeAll(async () => {
    // A high failed-auth limit: garbage tokens must keep reaching the routes, not a 429.
    await p.start({ PAAS_AUTH_FAILURE_LIMIT: "1000000" });
    const add = await p.cli(["users:add", "fuzzer@example.com", "--json"], {
      env: { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: p.token },
    });
    expect(add.code, add.stderr).toBe(0);
    userToken = (JSON.parse(add.stdout) as { token: string }).token;
    const created = await p.cli(["apps:create", app], {
      env: { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: userToken },
    });
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    lazy.disconnect();
    await p.stop();
  });

  const nasty = fc.constantFrom(
    "",
    "..",
    "%2e%2e",
    "%E0%A4%A",
    "%00",
    "a%2Fb",
    "x".repeat(5000),
    "ünï",
    "$(x)",
    "<script>",
    "-rf",
    "web",
    "1",
  );
  const param = fc.oneof(fc.constant(app), nasty, fc.string({ maxLength: 40 }).map(encodeURIComponent));
  const body = fc.oneof(
    fc.constant(undefined),
    fc.json().map((s) => ({ raw: s })),
    fc.string({ maxLength: 200 }).map((s) => ({ raw: s })),
    fc.constantFrom("{", "[1,", '{"name":', "null", "true", '"str"', "{}", "[]").map((s) => ({ raw: s })),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }), { maxKeys: 5 }).map((o) => ({
      raw: JSON.stringify(o) ?? "{}",
    })),
    fc
      .record({
        name: param,
        email: nasty,
        password: nasty,
        hostnames: fc.array(nasty),
        web: nasty,
        target: nasty,
      })
      .map((o) => ({ raw: JSON.stringify(o) })),
  );
  const auth = fc.oneof(
    fc.constant("user"),
    fc.constant("admin-read"),
    fc.constant("none"),
    fc.constantFrom("Bearer ", "Bearer paas_nope", "Basic !!!", "Basic Og==", "Token x", "Bearer \u00ff"),
  );
  const contentType = fc.constantFrom(
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
  );
  const query = fc.oneof(
    fc.constant(""),
    fc
      .dictionary(
        fc.constantFrom("num", "tail", "confirm", "ps", "source", "lines", "transferTo", "app", "dyno"),
        nasty,
        {
          maxKeys: 3,
        },
      )
      .map((q) => `?${new URLSearchParams(q as Record<string, string>)}`),
    fc.constantFrom("?num=-1", "?num=1e9", "?tail=1&num=abc", "?%zz", "?confirm[]=a&confirm[]=b"),
  );

  /** Statuses seen: the fuzz must reach handlers (2xx) and their checks (400, 403, 404), not only the auth gate. */
  const seen = new Map<number, number>();

  async function send(method: string, path: string, b: { raw: string } | undefined, a: string, ct: string) {
    const headers: Record<string, string> = {};
    if (a === "user") headers.authorization = `Bearer ${userToken}`;
    else if (a === "admin-read") {
      // The admin only reads: a fuzzed admin write could build the stack or destroy for real.
      if (method !== "GET") headers.authorization = `Bearer ${userToken}`;
      else headers.authorization = `Bearer ${p.token}`;
    } else if (a !== "none") headers.authorization = a;
    if (b && ct) headers["content-type"] = ct;
    const ctl = new AbortController();
    // Streaming routes (logs with tail) stay open: their status line is what counts.
    const res = await fetch(`${p.apiUrl}/api/v1${path}`, {
      method,
      headers,
      body: b && method !== "GET" && method !== "HEAD" ? b.raw : undefined,
      signal: ctl.signal,
      redirect: "manual",
    });
    const text = res.headers.get("content-type")?.includes("event-stream") ? "" : await res.text();
    ctl.abort();
    seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    return { status: res.status, text };
  }

  it("walks the whole API", () => {
    expect(walked.length).toBeGreaterThan(50);
  });

  it("answers random requests to every route without a 5xx", async () => {
    const route = fc.constantFrom(...walked);
    await fc.assert(
      fc.asyncProperty(
        route,
        fc.array(param, { minLength: 4, maxLength: 4 }),
        body,
        auth,
        contentType,
        query,
        async (r, params, b, a, ct, q) => {
          let i = 0;
          const path = r.path.replace(/:[a-zA-Z]+/g, () => params[i++ % params.length]) + q;
          const { status, text } = await send(r.method, path, b, a, ct);
          expect(status, `${r.method} ${path} -> ${status} ${text.slice(0, 300)}`).toBeLessThan(500);
        },
      ),
      { numRuns: 1500 },
    );
    for (const status of [200, 400, 401, 403, 404])
      expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  });

  it("answers random paths and methods without a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
        fc.oneof(
          fc.webPath(),
          fc.array(param, { maxLength: 5 }).map((s) => `/${s.join("/")}`),
        ),
        body,
        auth,
        contentType,
        async (method, path, b, a, ct) => {
          const { status, text } = await send(method, path.startsWith("/") ? path : `/${path}`, b, a, ct);
          expect(status, `${method} ${path} -> ${status} ${text.slice(0, 300)}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});
