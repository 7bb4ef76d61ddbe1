#!/usr/bin/env node
// The static buildpack's web server: Node.js built-ins only, so it runs on the run stack's
// Node.js without npm. Serves STATIC_ROOT (set at compile time: public/ or the app root)
// with gzip, ETag / Last-Modified / Cache-Control, 304s, clean URLs and a real 404.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const zlib = require("node:zlib");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".wasm": "application/wasm",
  ".pdf": "application/pdf",
  ".webmanifest": "application/manifest+json",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mp3": "audio/mpeg",
};
const COMPRESSIBLE = /^(text\/|application\/(json|xml|javascript|manifest\+json|wasm)|image\/svg)/;
const GZIP_MAX = 8 * 1024 * 1024;
const FINGERPRINTED = /[.-][0-9a-f]{8,}\.[a-z0-9]+$/i;

function createServer(root, opts = {}) {
  root = path.resolve(root);
  const maxAge = opts.maxAge ?? 3600;
  const gzCache = new Map(); // path -> { key, body }, small bounded cache of gzipped files

  function resolveFile(urlPath) {
    let rel;
    try {
      rel = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    if (rel.includes("\0")) return null;
    const full = path.join(root, path.normalize(rel));
    if (full !== root && !full.startsWith(root + path.sep)) return null;
    // No dotfiles or dot-directories (.profile.d, .heroku, .env, .git ...).
    if (path.relative(root, full).split(path.sep).some((p) => p.startsWith("."))) return null;
    return full;
  }

  function statFile(p) {
    try {
      const st = fs.statSync(p);
      return st;
    } catch {
      return null;
    }
  }

  function find(urlPath) {
    const full = resolveFile(urlPath);
    if (!full) return null;
    const st = statFile(full);
    if (st && st.isFile()) return { file: full, st };
    if (st && st.isDirectory()) {
      if (!urlPath.endsWith("/")) return { redirect: `${urlPath}/` };
      const index = path.join(full, "index.html");
      const ist = statFile(index);
      if (ist && ist.isFile()) return { file: index, st: ist };
      return null;
    }
    // Clean URLs: /about -> about.html
    if (!path.extname(full)) {
      const html = `${full}.html`;
      const hst = statFile(html);
      if (hst && hst.isFile()) return { file: html, st: hst };
    }
    return null;
  }

  function gzipped(file, st) {
    const key = `${st.size}-${st.mtimeMs}`;
    const hit = gzCache.get(file);
    if (hit && hit.key === key) return hit.body;
    const body = zlib.gzipSync(fs.readFileSync(file), { level: 6 });
    if (gzCache.size > 500) gzCache.delete(gzCache.keys().next().value);
    gzCache.set(file, { key, body });
    return body;
  }

  function notFound(req, res) {
    const page = path.join(root, "404.html");
    const st = statFile(page);
    const body = st && st.isFile() ? fs.readFileSync(page) : Buffer.from("<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n");
    res.writeHead(404, { "Content-Type": TYPES[".html"], "Content-Length": body.length, "Cache-Control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  return http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" });
      res.end("Method Not Allowed\n");
      return;
    }
    const urlPath = (req.url || "/").split("?")[0].split("#")[0] || "/";
    const found = find(urlPath);
    if (!found) return notFound(req, res);
    if (found.redirect) {
      const q = (req.url || "").includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
      res.writeHead(301, { Location: found.redirect + q });
      res.end();
      return;
    }
    const { file, st } = found;
    const ext = path.extname(file).toLowerCase();
    const type = TYPES[ext] || "application/octet-stream";
    const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
    let cacheControl = `public, max-age=${maxAge}`;
    if (ext === ".html" || ext === ".htm") cacheControl = "no-cache";
    else if (FINGERPRINTED.test(file)) cacheControl = "public, max-age=31536000, immutable";
    const headers = {
      "Content-Type": type,
      ETag: etag,
      "Last-Modified": lastModified,
      "Cache-Control": cacheControl,
      "X-Content-Type-Options": "nosniff",
      Vary: "Accept-Encoding",
    };
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    const fresh = inm
      ? inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")
      : ims && Date.parse(ims) >= Date.parse(lastModified);
    if (fresh) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const wantsGzip = /\bgzip\b/.test(req.headers["accept-encoding"] || "");
    if (wantsGzip && COMPRESSIBLE.test(type) && st.size > 256 && st.size <= GZIP_MAX) {
      const body = gzipped(file, st);
      res.writeHead(200, { ...headers, "Content-Encoding": "gzip", "Content-Length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": st.size });
    if (req.method === "HEAD") return res.end();
    fs.createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
  });
}

module.exports = { createServer };

if (require.main === module) {
  const root = process.env.STATIC_ROOT || (fs.existsSync("public") ? "public" : ".");
  const port = Number(process.env.PORT || 5000);
  const maxAge = process.env.STATIC_MAX_AGE ? Number(process.env.STATIC_MAX_AGE) : undefined;
  const server = createServer(root, { maxAge });
  server.keepAliveTimeout = 65_000;
  server.listen(port, "0.0.0.0", () => {
    console.log(`static: serving ${path.resolve(root)} on port ${port}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
