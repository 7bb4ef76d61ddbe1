import { describe, expect, it } from "vitest";
import { appFromRemoteUrl, NO_APP_MESSAGE, resolveApp } from "../../src/cli/app-resolve.js";
import { addBuildpack, parseBuildpacks, removeBuildpack } from "../../src/cli/commands/buildpacks.js";
import { parseAssignments, parseKeys } from "../../src/cli/commands/config.js";
import { describeFormation, parseProcessType, parseScale, parseTarget } from "../../src/cli/commands/ps.js";
import { parseVersion } from "../../src/cli/commands/releases.js";
import { cpuCount, memorySize } from "../../src/cli/commands/resources.js";
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

describe("parseScale", () => {
  it("turns TYPE=N, TYPE+N and TYPE-N into the strings PATCH /formation takes", () => {
    expect(parseScale(["web=3", "worker+1", "clock-2", "Mailer=0", "web_2=007"])).toEqual({
      web: "3",
      worker: "+1",
      clock: "-2",
      mailer: "0",
      web_2: "7",
    });
  });

  it("reads the last sign as the operator, so types may contain dashes", () => {
    expect(parseScale(["my-worker-1", "a-b=2", "x-y+3"])).toEqual({
      "my-worker": "-1",
      "a-b": "2",
      "x-y": "+3",
    });
  });

  it("rejects anything else, and a type given twice", () => {
    for (const bad of [
      "web",
      "web=",
      "=1",
      "web=x",
      "web=1.5",
      "web=-1",
      "web.1=2",
      "web==1",
      " web=1",
      "web=99999999999999999",
    ]) {
      expect(() => parseScale([bad])).toThrow(`"${bad}" is not a scale`);
    }
    expect(() => parseScale(["web=1", "WEB=2"])).toThrow("web is scaled twice");
  });
});

describe("parseTarget, parseProcessType", () => {
  it("accepts a type or TYPE.N, and demands the N when asked", () => {
    expect(parseTarget("web", false)).toBe("web");
    expect(parseTarget("Worker.12", false)).toBe("worker.12");
    expect(parseTarget("web.1", true)).toBe("web.1");
    expect(() => parseTarget("web", true)).toThrow(/give TYPE.N/);
    for (const bad of ["web.0", "web.", ".1", "web.01", "web 1", ""]) {
      expect(() => parseTarget(bad, false)).toThrow(/is not a process type or process/);
    }
  });

  it("parseProcessType", () => {
    expect(parseProcessType("Web")).toBe("web");
    expect(() => parseProcessType("web.1")).toThrow(/is not a process type/);
  });
});

describe("describeFormation", () => {
  it("names the types asked about, or all when none of them came back", () => {
    expect(describeFormation({ web: 3, worker: 2, clock: 1 }, ["worker", "web"])).toBe(
      "worker at 2, web at 3",
    );
    expect(describeFormation({ web: 3 }, ["gone"])).toBe("web at 3");
  });
});

describe("parseVersion", () => {
  it("accepts vN and N", () => {
    expect(parseVersion("v3")).toBe("v3");
    expect(parseVersion("12")).toBe("v12");
    expect(parseVersion("V007")).toBe("v7");
    for (const bad of ["v0", "0", "current", "v1.2", "v", ""]) {
      expect(() => parseVersion(bad)).toThrow(/is not a release version/);
    }
  });
});

describe("memorySize, cpuCount", () => {
  it("memorySize takes whole megabytes or gigabytes", () => {
    expect(memorySize("256m")).toBe("256m");
    expect(memorySize("1G")).toBe("1g");
    for (const bad of ["256", "0m", "1.5g", "256mb", "1k", "-1g", "m"]) {
      expect(() => memorySize(bad)).toThrow(/size like 256m or 1g/);
    }
  });

  it("cpuCount takes a number from 0.01 to 64", () => {
    expect(cpuCount("0.5")).toBe(0.5);
    expect(cpuCount(".25")).toBe(0.25);
    expect(cpuCount("4")).toBe(4);
    expect(cpuCount("64")).toBe(64);
    for (const bad of ["0", "0.0", "0.001", "99", "-1", "1e3", "x", "", "NaN", "Infinity"]) {
      expect(() => cpuCount(bad)).toThrow(/from 0\.01 to 64/);
    }
  });
});

describe("buildpack lists", () => {
  it("parseBuildpacks keeps the order and refuses repeats", () => {
    expect(parseBuildpacks(["nodejs", " https://h/bp.git#v1 "])).toEqual(["nodejs", "https://h/bp.git#v1"]);
    expect(() => parseBuildpacks(["go", "go"])).toThrow("go is given twice");
    expect(() => parseBuildpacks([""])).toThrow(/is not a buildpack/);
  });

  it("addBuildpack inserts at a 1-based index, appending past the end", () => {
    expect(addBuildpack(["a", "b"], "c")).toEqual(["a", "b", "c"]);
    expect(addBuildpack(["a", "b"], "c", 1)).toEqual(["c", "a", "b"]);
    expect(addBuildpack(["a", "b"], "c", 2)).toEqual(["a", "c", "b"]);
    expect(addBuildpack(["a", "b"], "c", 10)).toEqual(["a", "b", "c"]);
    expect(() => addBuildpack(["a"], "a")).toThrow("a is already a buildpack");
  });

  it("removeBuildpack needs the buildpack to be there", () => {
    expect(removeBuildpack(["a", "b"], "a")).toEqual(["b"]);
    expect(() => removeBuildpack([], "a")).toThrow("a is not a buildpack of this app (it has none set)");
  });
});
