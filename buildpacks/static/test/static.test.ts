import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appDir, runBin } from "../../nodejs/test/helpers.js";

const require = createRequire(import.meta.url);
const { createServer } = require(path.resolve(import.meta.dirname, "../lib/server.cjs")) as {
  createServer: (root: string, opts?: { maxAge?: number }) => http.Server;
};

describe("static bin/detect and bin/release", () => {
  it("detects index.html or public/", () => {
    expect(runBin("static", "detect", [appDir({ "index.html": "" })]).stdout.trim()).toBe("Static HTML");
    expect(runBin("static", "detect", [appDir({ "public/": "" })]).code).toBe(0);
    expect(runBin("static", "detect", [appDir({ "README.md": "" })]).code).toBe(1);
  });
  it("serves with the bundled server", () => {
    expect(runBin("static", "release", [appDir({})]).stdout).toContain("web: node .heroku/static/server.cjs");
  });
  it("compile installs the server and records the root", () => {
    const dir = appDir({ "public/index.html": "<h1>x</h1>" });
    const r = runBin("static", "compile", [dir, appDir({}), appDir({})]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(dir, ".heroku/static/server.cjs"))).toBe(true);
    expect(fs.readFileSync(path.join(dir, ".profile.d/static.sh"), "utf8")).toContain("$HOME/public");
  });
});

describe("static server", () => {
  let server: http.Server;
  let base: string;
  const big = "<p>hello static world</p>\n".repeat(100);

  beforeAll(async () => {
    const root = appDir({
      "index.html": `<!doctype html>${big}`,
      "about.html": "about page",
      "app.3f9a8b7c6d.js": "console.log(1)",
      "style.css": "body{}",
      "docs/index.html": "docs index",
      "404.html": "custom not found",
      ".env": "SECRET=1",
    });
    server = createServer(root, { maxAge: 60 });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  function get(p: string, headers: Record<string, string> = {}, method = "GET") {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(`${base}${p}`, { headers, method }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("serves index.html with caching headers", async () => {
    const r = await get("/");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(r.headers.etag).toMatch(/^W\/"/);
    expect(r.headers["last-modified"]).toBeTruthy();
    expect(r.headers["cache-control"]).toBe("no-cache");
    expect(r.body.toString()).toContain("hello static world");
  });

  it("gzips compressible files when asked", async () => {
    const r = await get("/", { "Accept-Encoding": "gzip, br" });
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(r.headers.vary).toBe("Accept-Encoding");
    expect(zlib.gunzipSync(r.body).toString()).toContain("hello static world");
    expect(r.body.length).toBeLessThan(big.length / 5);
  });

  it("answers 304 to a matching ETag or If-Modified-Since", async () => {
    const first = await get("/style.css");
    expect(first.headers["cache-control"]).toBe("public, max-age=60");
    expect((await get("/style.css", { "If-None-Match": String(first.headers.etag) })).status).toBe(304);
    expect((await get("/style.css", { "If-Modified-Since": String(first.headers["last-modified"]) })).status).toBe(304);
  });

  it("caches fingerprinted assets for a year", async () => {
    const r = await get("/app.3f9a8b7c6d.js");
    expect(r.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(r.headers["content-type"]).toBe("text/javascript; charset=utf-8");
  });

  it("serves clean URLs and directory indexes, redirecting to the slash", async () => {
    expect((await get("/about")).body.toString()).toBe("about page");
    const redirect = await get("/docs");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe("/docs/");
    expect((await get("/docs/")).body.toString()).toBe("docs index");
  });

  it("answers 404 with the site's 404.html, hides dotfiles and refuses traversal", async () => {
    const missing = await get("/nope");
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toBe("custom not found");
    expect((await get("/.env")).status).toBe(404);
    expect((await get("/..%2f..%2fetc%2fpasswd")).status).toBe(404);
    expect((await get("/%2e%2e/%2e%2e/etc/passwd")).status).toBe(404);
  });

  it("supports HEAD and rejects other methods", async () => {
    const head = await get("/style.css", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((await get("/", {}, "POST")).status).toBe(405);
  });
});
