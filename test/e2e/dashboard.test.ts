import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";

// The web dashboard on a real server: sign-in with the admin token, session cookie, the
// pages over a pushed Dockerfile app, form posts with (and without) the CSRF token.

describe("web dashboard", () => {
  const p = new Platform();
  const app = `dash-${Date.now().toString(36)}`;
  const secret = "s3cr3t-value-never-on-the-app-page";
  let repo = "";
  let cookie = "";

  const url = (path: string) => `${p.apiUrl}/dashboard${path}`;
  const get = (path: string, withCookie = cookie) =>
    fetch(url(path), { redirect: "manual", headers: withCookie ? { cookie: withCookie } : {} });
  const post = (path: string, form: Record<string, string>, withCookie = cookie) =>
    fetch(url(path), {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        ...(withCookie ? { cookie: withCookie } : {}),
      },
      body: new URLSearchParams(form).toString(),
    });
  const csrfOf = (html: string) => {
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    expect(m, "page has a CSRF field").not.toBeNull();
    return m![1];
  };
  const ps = async () => {
    const res = await p.cli(["ps", "--json", "-a", app]);
    expect(res.code, res.stderr).toBe(0);
    // Containers a restart replaced drain in the background: not part of the formation.
    return (JSON.parse(res.stdout) as { name: string; state: string }[])
      .filter((x) => x.state !== "draining")
      .map((x) => `${x.name}:${x.state}`)
      .sort();
  };

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
  });

  afterAll(async () => {
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("shows the sign-in page without a cookie and sends everything else there", async () => {
    const page = await get("/login", "");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="token"');
    const home = await get("/", "");
    expect(home.status).toBe(303);
    expect(home.headers.get("location")).toMatch(/^\/dashboard\/login/);
  });

  it("refuses a wrong token with a 401 page and no cookie", async () => {
    const res = await post("/login", { token: "paas_wrong" }, "");
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("That token is not valid");
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("signs in with the admin token: a session cookie, never the token", async () => {
    const res = await post("/login", { token: p.token }, "");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/");
    const [set] = res.headers.getSetCookie();
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    expect(set).toMatch(/Path=\/dashboard(;|$)/);
    expect(set).not.toContain(p.token);
    cookie = set.split(";")[0];
  });

  it("lists an app created with the CLI", async () => {
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    const res = await get("/");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`href="/dashboard/apps/${app}"`);
    expect(html).toContain(`http://${app}.paas.test:${p.routerPort}`);
  });

  it("shows processes after a push, and config keys but not their values", async () => {
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const set = await p.cli(["config:set", `DASH_SECRET=${secret}`, "-a", app]);
    expect(set.code, set.stderr).toBe(0);
    const res = await get(`/apps/${app}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toMatch(/<td>web\.1<\/td>\s*<td class="state-up">up<\/td>/);
    expect(html).toContain(`git remote add paas ${p.apiUrl}/git/${app}.git`);
    expect(html).toContain("DASH_SECRET");
    expect(html).not.toContain(secret);
    expect(html).toContain("Set DASH_SECRET config var");
    const reveal = await get(`/apps/${app}/config`);
    expect(await reveal.text()).toContain(secret);
  });

  it("scales web to 2 through the form", async () => {
    const csrf = csrfOf(await (await get(`/apps/${app}`)).text());
    const res = await post(`/apps/${app}/scale`, { _csrf: csrf, "scale.web": "2" });
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get("location")).toBe(`/dashboard/apps/${app}`);
    expect(await ps()).toEqual(["web.1:up", "web.2:up"]);
    const html = await (await get(`/apps/${app}`)).text();
    expect(html).toContain(`Scaled ${app}: web=2`);
    expect(html).toContain("web.2");
  });

  it("refuses a form post without the right CSRF token", async () => {
    const missing = await post(`/apps/${app}/scale`, { "scale.web": "1" });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain("CSRF");
    const wrong = await post(`/apps/${app}/scale`, { _csrf: "x".repeat(43), "scale.web": "1" });
    expect(wrong.status).toBe(403);
    expect(await ps()).toEqual(["web.1:up", "web.2:up"]);
  });

  it("restarts and rolls back through the forms", async () => {
    const csrf = csrfOf(await (await get(`/apps/${app}`)).text());
    const restart = await post(`/apps/${app}/restart`, { _csrf: csrf });
    expect(restart.status, await restart.clone().text()).toBe(303);
    expect(await ps()).toEqual(["web.1:up", "web.2:up"]);
    const rollback = await post(`/apps/${app}/rollback`, { _csrf: csrf, version: "1" });
    expect(rollback.status, await rollback.clone().text()).toBe(303);
    const html = await (await get(`/apps/${app}`)).text();
    expect(html).toContain("Rollback to v1");
    // v1's config had no DASH_SECRET; rolling back restores that snapshot.
    expect(await (await get(`/apps/${app}/config`)).text()).not.toContain("DASH_SECRET");
  });

  it("renders friendly error pages with the right status", async () => {
    const missing = await get("/apps/no-such-app");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("app &quot;no-such-app&quot; not found");
    const csrf = csrfOf(await (await get("/")).text());
    const bad = await post("/apps", { _csrf: csrf, name: "Bad_Name" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("is invalid");
    const made = await post("/apps", { _csrf: csrf, name: `${app}-2` });
    expect(made.status).toBe(303);
    expect(made.headers.get("location")).toBe(`/dashboard/apps/${app}-2`);
    const list = await p.cli(["apps", "--json"]);
    expect(JSON.parse(list.stdout).map((a: { name: string }) => a.name)).toContain(`${app}-2`);
  });

  it("logs out: the session ends and pages redirect to sign-in again", async () => {
    const csrf = csrfOf(await (await get("/")).text());
    const res = await post("/logout", { _csrf: csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/login");
    const after = await get("/");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toMatch(/^\/dashboard\/login/);
  });
});
