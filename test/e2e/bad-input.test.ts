import fsp from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, Platform, type Result } from "../helpers/platform.js";

// Bad input, end to end against a real server: every mistake is one clear `error:` line
// (or a 4xx with a JSON message on the API, or a git failure with the reason), a non-zero
// exit, no stack trace, and nothing changed.

/** One clear line: `error: ...` on stderr, no stack, non-zero exit. */
function expectCleanError(res: Result, message: string | RegExp): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  const lines = res.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(res.stderr).not.toMatch(/^\s+at /m);
  expect(res.stdout).not.toMatch(/^\s+at /m);
}

describe("bad input", () => {
  const p = new Platform();
  const app = `bad-${Date.now().toString(36)}`;
  let repo = "";

  /** Names of the apps the platform has, through the CLI. */
  const appNames = async (): Promise<string[]> => {
    const res = await p.cli(["apps", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    return (JSON.parse(res.stdout) as { name: string }[]).map((a) => a.name).sort();
  };

  const api = (path: string, init: RequestInit = {}, token: string | null = p.token) =>
    fetch(`${p.apiUrl}/api/v1${path}`, {
      ...init,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...init.headers },
    });

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("dockerfile-hello");
    const created = await p.cli(["apps:create", app]);
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it.each([
    ["upper case", "Upper", /app name "Upper" is invalid/],
    ["too long", "a".repeat(40), /must be 3-30 characters long \(it is 40\)/],
    ["a path", "../x", /app name "\.\.\/x" is invalid/],
    ["a trailing dash", "trailing-", /is invalid/],
  ])("refuses an app name with %s and creates nothing", async (_what, name, message) => {
    const before = await appNames();
    const res = await p.cli(["apps:create", name]);
    expectCleanError(res, message);
    expect(await appNames()).toEqual(before);
  });

  it("refuses invalid names on the API too, with a 400 and a JSON message", async () => {
    const before = await appNames();
    for (const name of ["Upper", "a".repeat(40), "../x", 42]) {
      const res = await api("/apps", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      expect(res.status, String(name)).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_input");
      expect(body.error.message).toMatch(/app name/);
    }
    expect(await appNames()).toEqual(before);
  });

  it("refuses a duplicate app", async () => {
    const before = await appNames();
    expect(before).toContain(app);
    const res = await p.cli(["apps:create", app]);
    expectCleanError(res, `app "${app}" already exists`);
    expect(await appNames()).toEqual(before);
  });

  it.each([
    [["config", "-a", "nope-app"]],
    [["apps:info", "-a", "nope-app"]],
    [["config:set", "A=1", "-a", "nope-app"]],
  ])("says not found for an unknown app: %j", async (args) => {
    const res = await p.cli(args);
    expectCleanError(res, /app "nope-app" not found/);
    expect(await appNames()).not.toContain("nope-app");
  });

  it("answers 401 with a JSON message to a wrong API token", async () => {
    const res = await api("/apps", {}, "paas_wrong");
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: "unauthorized" });
    expect(body.error.message).toMatch(/^invalid API token: run `paas login/);
    expect(body.error.message).not.toContain("\n");
  });

  it("answers 401 with a hint when the token is missing", async () => {
    for (const init of [
      {},
      { method: "POST", body: "{}", headers: { "content-type": "application/json" } },
    ]) {
      const res = await api("/apps", init, null);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.message).toMatch(
        /^authentication required: run `paas login --api URL --token TOKEN`/,
      );
    }
    expect(await appNames()).toEqual([app]);
  });

  it("the CLI reports a wrong token as one error line", async () => {
    const res = await p.cli(["apps"], { env: { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: "paas_wrong" } });
    expectCleanError(res, /invalid API token/);
  });

  it("refuses a git push with a wrong password and deploys nothing", async () => {
    const url = `http://paas:wrong@127.0.0.1:${p.apiPort}/git/${app}.git`;
    const res = await p.git(["push", url, "main"], repo);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Authentication failed|401/);
    const info = JSON.parse((await p.cli(["apps:info", "-a", app, "--json"])).stdout) as { release: unknown };
    expect(info.release).toBeNull();
    expect(await dockerContainers(p.ns, app)).toHaveLength(0);
  });

  it("refuses a git request without credentials with 401 and a hint", async () => {
    const res = await fetch(`${p.apiUrl}/git/${app}.git/info/refs?service=git-receive-pack`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/^authentication required: run `paas login/);
  });

  it("says not found to a push to an unknown app", async () => {
    const url = `http://paas:${p.token}@127.0.0.1:${p.apiPort}/git/nope-app.git`;
    const res = await p.git(["push", url, "main"], repo);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/not found/);
    expect(await appNames()).toEqual([app]);
  });

  it.each([
    [["config:set", "1BAD=x"], /config key "1BAD" is invalid/],
    [["config:set", "NOEQUALS"], /"NOEQUALS" is not KEY=value/],
    [["config:set"], /missing required argument/],
    [["config:unset", "BAD-KEY"], /config key "BAD-KEY" is invalid/],
  ])("refuses bad config input %j and sets nothing", async (args, message) => {
    const res = await p.cli([...args, "-a", app]);
    expectCleanError(res, message);
    const cfg = await p.cli(["config", "--json", "-a", app]);
    expect(JSON.parse(cfg.stdout)).toEqual({});
  });

  it("refuses a bad config key on the API with a 400", async () => {
    const res = await api(`/apps/${app}/config`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "1BAD": "x" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/config key "1BAD"/);
  });

  it("refuses apps:destroy without --confirm, or with the wrong one, and keeps the app", async () => {
    const res = await p.cli(["apps:destroy", app]);
    expectCleanError(res, `to go ahead run paas apps:destroy ${app} --confirm ${app}`);
    const wrong = await p.cli(["apps:destroy", app, "--confirm", "other-app"]);
    expectCleanError(wrong, /--confirm other-app does not match/);
    expect(await appNames()).toContain(app);
    const info = await p.cli(["apps:info", "-a", app]);
    expect(info.code, info.stderr).toBe(0);
  });

  it("answers 400 with a JSON error, not 500, to a body that is not JSON", async () => {
    const before = await appNames();
    const res = await api("/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: { code: "invalid_input", message: "request body is not valid JSON" },
    });
    expect(await appNames()).toEqual(before);
  });

  it("answers 404 with a JSON error for an unknown API route", async () => {
    const res = await api("/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
