import { type ChildProcess, spawn } from "node:child_process";
import fsp from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../src/store/keys.js";
import { RoutesStore } from "../../src/store/routes.js";
import { freePort, httpGet, Platform, REDIS_URL, type Result, ROOT } from "../helpers/platform.js";
import { h2Request, loopbackDns, type Pebble, selfSigned, startPebble, tlsGet } from "../helpers/tls.js";

// Domains and TLS end to end: the real server and CLI, the real Redis, openssl-made
// certificates, Debian's pebble as the ACME CA (its HTTP-01 checks come to our router on
// loopback, names resolved by a loopback DNS server), and a second router process sharing
// the Redis. The apps' backends are loopback HTTP servers put in the route table through
// RoutesStore, the call the runtime makes after a deploy: what is under test is routing.

/** A backend that answers with its name, the forwarded proto and what it was sent. */
async function backend(name: string): Promise<{ port: number; close(): void }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      const { host, cookie } = req.headers;
      res.end(
        JSON.stringify({
          name,
          proto: req.headers["x-forwarded-proto"],
          host,
          cookie,
          method: req.method,
          body,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** Poll fn until it returns true (bounded; changes travel over pub/sub). */
async function until(what: string, fn: () => Promise<boolean>, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ok = (r: Result) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);

describe("router domains and TLS", () => {
  const p = new Platform();
  let dir = "";
  let redis: Redis;
  let pebble: Pebble | undefined;
  let dns: { port: number; close(): void } | undefined;
  const backends: { port: number; close(): void }[] = [];
  let second: ChildProcess | undefined;
  let secondPort = 0;
  let secondHttps = 0;

  const appOn = async (port: number, host: string): Promise<string | null> => {
    const r = await httpGet(port, host);
    return r.status === 200 ? (JSON.parse(r.body) as { name: string }).name : null;
  };
  const appAt = (host: string) => appOn(p.routerPort, host);

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-tls-"));
    dns = await loopbackDns();
    // pebble's HTTP-01 checks go to the router's plain HTTP port, so it is chosen first.
    const routerPort = await freePort();
    pebble = await startPebble(dir, routerPort, dns.port);
    await p.start({
      // No worker role: its reconciler would set the backends from Docker (none) over ours.
      PAAS_ROLES: "api,router",
      PAAS_HTTP_PORT: String(routerPort),
      PAAS_ACME_DIRECTORY: pebble.directory,
      PAAS_ACME_EMAIL: "ops@example.test",
      // pebble's own HTTPS listener is signed by a test CA: trusted by this server only.
      NODE_EXTRA_CA_CERTS: pebble.apiCa,
    });
    p.routerPort = routerPort;
    ok(await p.cli(["login", "--api", p.apiUrl, "--token", p.token]));
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    const routes = new RoutesStore(redis, new Keys(p.ns));
    for (const app of ["alpha", "beta", "gamma"]) {
      ok(await p.cli(["apps:create", app]));
      const b = await backend(app);
      backends.push(b);
      await routes.setBackends(app, [{ host: "127.0.0.1", port: b.port }]);
    }
  });

  afterAll(async () => {
    if (second && second.exitCode === null) {
      const exited = new Promise((r) => second!.once("exit", r));
      second.kill("SIGTERM");
      await exited;
    }
    await p.stop();
    await pebble?.stop();
    dns?.close();
    for (const b of backends) b.close();
    redis?.disconnect();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("routes custom and wildcard domains, the most specific match first", async () => {
    ok(await p.cli(["domains:add", "-a", "alpha", "shop.example.test", "*.example.test"]));
    ok(
      await p.cli([
        "domains:add",
        "-a",
        "beta",
        "www.example.test",
        "*.api.example.test",
        "Bücher.example.test",
      ]),
    );
    await until("beta's domains", async () => (await appAt("v1.api.example.test")) === "beta");
    expect(await appAt("shop.example.test")).toBe("alpha");
    expect(await appAt("www.example.test")).toBe("beta");
    expect(await appAt("anything.example.test")).toBe("alpha");
    expect(await appAt("a.b.example.test")).toBe("alpha");
    expect(await appAt("x.y.api.example.test")).toBe("beta");
    expect(await appAt("xn--bcher-kva.example.test")).toBe("beta");
    expect((await httpGet(p.routerPort, "example.test")).status).toBe(404);

    const list = await p.cli(["domains", "-a", "beta", "--json"]);
    ok(list);
    const view = JSON.parse(list.stdout);
    expect(view.domains.map((d: { hostname: string }) => d.hostname)).toEqual([
      "*.api.example.test",
      "www.example.test",
      "xn--bcher-kva.example.test",
    ]);
    expect(view.default).toEqual({ hostname: "beta.paas.test", enabled: true });
  });

  it("refuses a name another app holds, and names that are not the user's to claim", async () => {
    const taken = await p.cli(["domains:add", "-a", "beta", "brand-new.example.test", "shop.example.test"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^error: shop\.example\.test is already claimed by another app/m);
    expect(taken.stderr).not.toMatch(/alpha/);
    // All or nothing: the free name in the same request was not taken either.
    const beta = JSON.parse((await p.cli(["domains", "-a", "beta", "--json"])).stdout);
    expect(beta.domains.map((d: { hostname: string }) => d.hostname)).not.toContain("brand-new.example.test");
    for (const [name, why] of [
      ["alpha.paas.test", /platform's own domain/],
      ["paas.test", /platform's own domain/],
      ["10.1.2.3", /IP address/],
      [`${"x".repeat(64)}.example.test`, /over 63 characters/],
    ] as const) {
      const r = await p.cli(["domains:add", "-a", "beta", name]);
      expect(r.code, name).toBe(1);
      expect(r.stderr).toMatch(why);
    }
    expect(await appAt("shop.example.test")).toBe("alpha");
    // Released names can be claimed again.
    ok(await p.cli(["domains:remove", "-a", "alpha", "shop.example.test"]));
    ok(await p.cli(["domains:add", "-a", "beta", "shop.example.test"]));
    await until("shop moved to beta", async () => (await appAt("shop.example.test")) === "beta");
    ok(await p.cli(["domains:remove", "-a", "beta", "shop.example.test"]));
    ok(await p.cli(["domains:add", "-a", "alpha", "shop.example.test"]));
    await until("shop back on alpha", async () => (await appAt("shop.example.test")) === "alpha");
  });

  it("turns the default domain off and on", async () => {
    expect(await appAt("gamma.paas.test")).toBe("gamma");
    ok(await p.cli(["domains:disable-default", "-a", "gamma"]));
    await until(
      "gamma.paas.test gone",
      async () => (await httpGet(p.routerPort, "gamma.paas.test")).status === 404,
    );
    ok(await p.cli(["domains:enable-default", "-a", "gamma"]));
    await until("gamma.paas.test back", async () => (await appAt("gamma.paas.test")) === "gamma");
  });

  it("serves two certificates by SNI and refuses a key that does not match", async () => {
    const shop = await selfSigned(dir, "shop", ["shop.example.test"]);
    const www = await selfSigned(dir, "www", ["www.example.test"]);
    const bad = await p.cli(["certs:add", "-a", "alpha", shop.cert, www.key]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: the private key does not match the certificate/m);

    const added = await p.cli(["certs:add", "-a", "alpha", shop.cert, shop.key]);
    ok(added);
    expect(added.stdout).toMatch(/does not cover \*\.example\.test/);
    ok(await p.cli(["certs:add", "-a", "beta", www.cert, www.key]));

    await until("both certificates served", async () => {
      const [a, b] = [
        await tlsGet(p.httpsPort, "shop.example.test"),
        await tlsGet(p.httpsPort, "www.example.test"),
      ];
      return a.san === "DNS:shop.example.test" && b.san === "DNS:www.example.test";
    });
    const a = await tlsGet(p.httpsPort, "shop.example.test", "/", await fsp.readFile(shop.cert, "utf8"));
    expect(a.authorized).toBe(true);
    expect(JSON.parse(a.body)).toMatchObject({ name: "alpha", proto: "https" });
    const b = await tlsGet(p.httpsPort, "www.example.test", "/", await fsp.readFile(www.cert, "utf8"));
    expect(b.authorized).toBe(true);
    expect(JSON.parse(b.body)).toMatchObject({ name: "beta", proto: "https" });

    // HTTP/2 by ALPN on the same listener, a body and split cookies forwarded to HTTP/1.1.
    const h2 = await h2Request(p.httpsPort, "shop.example.test", {
      method: "POST",
      path: "/h2",
      body: "x".repeat(70_000),
    });
    expect(h2.alpn).toBe("h2");
    expect(h2.status).toBe(200);
    expect(JSON.parse(h2.body)).toMatchObject({
      name: "alpha",
      proto: "https",
      host: "shop.example.test",
      method: "POST",
    });
    expect(JSON.parse(h2.body).body).toHaveLength(70_000);
    expect(JSON.parse(h2.body).cookie).toBe("a=1; b=2");

    const list = JSON.parse((await p.cli(["certs", "-a", "alpha", "--json"])).stdout);
    expect(list.certs).toHaveLength(1);
    expect(list.certs[0]).toMatchObject({ names: ["shop.example.test"], source: "manual", selfSigned: true });
    expect(list.uncovered).toContain("*.example.test");
  });

  it("serves the platform default certificate for <app>.<PAAS_DOMAIN>", async () => {
    const def = await selfSigned(dir, "default", ["*.paas.test"]);
    const added = await p.cli(["certs:add", "--default", def.cert, def.key]);
    ok(added);
    await until(
      "default certificate served",
      async () => (await tlsGet(p.httpsPort, "gamma.paas.test")).san === "DNS:*.paas.test",
    );
    const served = await tlsGet(p.httpsPort, "gamma.paas.test");
    expect(JSON.parse(served.body)).toMatchObject({ name: "gamma", proto: "https" });
    // An app's own certificate still wins for its names.
    expect((await tlsGet(p.httpsPort, "shop.example.test")).san).toBe("DNS:shop.example.test");
  });

  it("redirects HTTP to HTTPS and sends HSTS when asked", async () => {
    ok(await p.cli(["https:redirect", "on", "-a", "alpha"]));
    ok(await p.cli(["https:hsts", "on", "--max-age", "300", "-a", "alpha"]));
    await until(
      "redirect on",
      async () => (await httpGet(p.routerPort, "shop.example.test", "/a?b=1")).status === 301,
    );
    const r = await httpGet(p.routerPort, "shop.example.test", "/a?b=1");
    expect(r.headers.location).toBe(`https://shop.example.test:${p.httpsPort}/a?b=1`);
    const s = await tlsGet(p.httpsPort, "shop.example.test");
    expect(s.status).toBe(200);
    expect(s.headers["strict-transport-security"]).toBe("max-age=300");
    const h2 = await h2Request(p.httpsPort, "shop.example.test");
    expect(h2.headers["strict-transport-security"]).toBe("max-age=300");
    // Other apps are untouched.
    expect(await appAt("www.example.test")).toBe("beta");
    ok(await p.cli(["https:redirect", "off", "-a", "alpha"]));
    await until("redirect off", async () => (await appAt("shop.example.test")) === "alpha");
  });

  it("obtains a certificate from pebble over HTTP-01 answered by the router", async () => {
    ok(await p.cli(["domains:add", "-a", "gamma", "acme.example.test", "*.wild.example.test"]));
    const auto = await p.cli(["certs:auto", "-a", "gamma", "--wait"]);
    expect(auto.code, `${auto.stdout}\n${auto.stderr}\n${pebble?.output()}`).toBe(0);
    const view = JSON.parse((await p.cli(["certs", "-a", "gamma", "--json"])).stdout);
    expect(view.auto).toMatchObject({ enabled: true, state: "ok" });
    expect(view.auto.message).toMatch(/skipped \*\.wild\.example\.test: wildcards need DNS-01/);
    expect(view.certs).toHaveLength(1);
    expect(view.certs[0]).toMatchObject({ source: "acme", names: ["acme.example.test"] });
    expect(view.certs[0].daysLeft).toBeGreaterThan(30);

    const root = await pebble!.root();
    let seen = "";
    await until("the ACME certificate served", async () => {
      seen = (await tlsGet(p.httpsPort, "acme.example.test")).san;
      return seen === "DNS:acme.example.test";
    }).catch((err) => {
      throw new Error(`${err.message}: got ${seen}\n${p.output.slice(-3000)}`);
    });
    const t = await tlsGet(p.httpsPort, "acme.example.test", "/", root);
    expect(t.authorized, t.authorizationError ?? "").toBe(true);
    expect(JSON.parse(t.body)).toMatchObject({ name: "gamma", proto: "https" });
  });

  it("a second router process sharing the Redis agrees and follows changes without a restart", async () => {
    secondPort = await freePort();
    secondHttps = await freePort();
    second = spawn(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "server"], {
      env: {
        ...process.env,
        PAAS_NAMESPACE: p.ns,
        PAAS_DATA_DIR: p.dataDir,
        PAAS_ROLES: "router",
        PAAS_HTTP_PORT: String(secondPort),
        PAAS_HTTPS_PORT: String(secondHttps),
        PAAS_API_PORT: String(await freePort()),
        PAAS_BIND: "127.0.0.1",
        PAAS_DOMAIN: "paas.test",
        PAAS_REDIS_URL: REDIS_URL,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    second.stdout!.on("data", (d) => {
      out += d;
    });
    second.stderr!.on("data", (d) => {
      out += d;
    });
    await until("second router", async () => out.includes("paas is running"), 300);

    for (const host of [
      "shop.example.test",
      "www.example.test",
      "a.b.example.test",
      "v1.api.example.test",
      "gamma.paas.test",
    ]) {
      expect(await appOn(secondPort, host), host).toBe(await appAt(host));
    }
    ok(await p.cli(["domains:add", "-a", "gamma", "late.example.test"]));
    await until("both routers serve the new name", async () => {
      const [one, two] = [await appAt("late.example.test"), await appOn(secondPort, "late.example.test")];
      return one === "gamma" && two === "gamma";
    });
    const sni = await tlsGet(secondHttps, "www.example.test");
    expect(sni.san).toBe("DNS:www.example.test");
    ok(await p.cli(["domains:remove", "-a", "gamma", "late.example.test"]));
    // Without its exact name, the host falls to alpha's *.example.test on both.
    await until("both routers dropped it", async () => {
      const [one, two] = [await appAt("late.example.test"), await appOn(secondPort, "late.example.test")];
      return one === "alpha" && two === "alpha";
    });
  });
});
