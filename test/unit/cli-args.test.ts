import { describe, expect, it } from "vitest";
import { appFromRemoteUrl, NO_APP_MESSAGE, resolveApp } from "../../src/cli/app-resolve.js";
import { parseAssignments, parseKeys } from "../../src/cli/commands/config.js";
import { parseRoles } from "../../src/cli/commands/server.js";
import { positiveInt } from "../../src/cli/context.js";
import type { GitRemotes } from "../../src/cli/git-remotes.js";

describe("parseAssignments", () => {
  it("splits at the first = and keeps the rest of the value", () => {
    expect(parseAssignments(["A=1", "URL=postgres://u:p@h/db?x=y", "EMPTY=", "_X9="])).toEqual({
      A: "1",
      URL: "postgres://u:p@h/db?x=y",
      EMPTY: "",
      _X9: "",
    });
  });

  it("lets the last of repeated keys win", () => {
    expect(parseAssignments(["A=1", "A=2"])).toEqual({ A: "2" });
  });

  it("rejects an argument without =", () => {
    expect(() => parseAssignments(["A"])).toThrow('"A" is not KEY=value');
  });

  it("rejects bad keys", () => {
    expect(() => parseAssignments(["=x"])).toThrow(/config key "" is invalid/);
    expect(() => parseAssignments(["MY-KEY=x"])).toThrow(/config key "MY-KEY" is invalid/);
    expect(() => parseAssignments(["1A=x"])).toThrow(/is invalid/);
  });

  it("needs at least one assignment", () => {
    expect(() => parseAssignments([])).toThrow(/at least one KEY=value/);
  });
});

describe("parseKeys", () => {
  it("validates and de-duplicates", () => {
    expect(parseKeys(["A", "B", "A"])).toEqual(["A", "B"]);
    expect(() => parseKeys(["A=1"])).toThrow(/is invalid/);
    expect(() => parseKeys([])).toThrow(/at least one key/);
  });
});

describe("appFromRemoteUrl", () => {
  it.each([
    ["http://127.0.0.1:5100/git/my-app.git", "my-app"],
    ["https://paas.example.com/git/shop.git/", "shop"],
    ["http://user@host:5100/git/shop", "shop"],
    ["http://host/prefix/git/app-2.git", "app-2"],
    ["https://github.com/me/shop.git", null],
    ["http://host/git/UPPER.git", null],
    ["", null],
  ])("%s -> %s", (url, app) => {
    expect(appFromRemoteUrl(url)).toBe(app);
  });
});

describe("resolveApp", () => {
  const gitWith = (remotes: Record<string, string>): GitRemotes => ({
    insideWorkTree: async () => true,
    getUrl: async (_cwd, remote) => remotes[remote] ?? null,
    setUrl: async () => "added",
    remove: async () => {},
  });

  it("prefers -a", async () => {
    expect(await resolveApp("flag-app", "/", gitWith({ paas: "http://h/git/remote-app.git" }))).toBe(
      "flag-app",
    );
  });

  it("checks the -a name", async () => {
    await expect(resolveApp("Bad_Name", "/", gitWith({}))).rejects.toThrow(/app name "Bad_Name" is invalid/);
  });

  it("falls back to the paas remote", async () => {
    expect(await resolveApp(undefined, "/", gitWith({ paas: "http://h/git/remote-app.git" }))).toBe(
      "remote-app",
    );
  });

  it("explains what to do without either", async () => {
    await expect(resolveApp(undefined, "/", gitWith({}))).rejects.toThrow(NO_APP_MESSAGE);
  });

  it("says when the paas remote is not a paas URL", async () => {
    await expect(resolveApp(undefined, "/", gitWith({ paas: "git@github.com:me/x.git" }))).rejects.toThrow(
      /is not a paas app URL/,
    );
  });
});

describe("small parsers", () => {
  it("parseRoles", () => {
    expect(parseRoles(undefined)).toBeUndefined();
    expect(parseRoles("api, git,,router")).toEqual(["api", "git", "router"]);
  });

  it("positiveInt", () => {
    expect(positiveInt("25")).toBe(25);
    for (const bad of ["0", "-1", "1.5", "x", ""]) expect(() => positiveInt(bad)).toThrow(/whole number/);
  });
});
