import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_ROLES, loadSettings, parseMemory, SETTINGS_DOC } from "../../src/config.js";
import { PaasError } from "../../src/errors.js";

// loadSettings takes the environment as a parameter, so these tests never touch process.env.
const MiB = 1024 * 1024;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
// An existing file to stand in for a CA bundle (only its existence is checked).
const SOME_FILE = path.resolve(import.meta.dirname, "../../package.json");

/** The lines of the "bad settings" error for an environment (fails when it loads fine). */
function problems(env: Record<string, string>): string[] {
  try {
    loadSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(PaasError);
    const e = err as PaasError;
    expect(e.code).toBe("invalid_input");
    const [head, ...lines] = e.message.split("\n");
    expect(head).toBe("bad settings:");
    return lines.map((l) => l.trim());
  }
  throw new Error("expected loadSettings to fail");
}

describe("loadSettings", () => {
  it("has defaults that work with an empty environment", () => {
    const s = loadSettings({ PAAS_BUILD_CA_BUNDLE: "none" });
    expect(s).toMatchObject({
      dataDir: isRoot ? "/var/lib/paas" : path.join(os.homedir(), ".paas"),
      redisUrl: "redis://127.0.0.1:6379",
      namespace: "paas",
      domain: "localhost",
      apiPort: 5100,
      httpPort: isRoot ? 80 : 8080,
      bind: "127.0.0.1",
      roles: ALL_ROLES,
      buildConcurrency: 2,
      buildCaBundle: null,
      buildHttpProxy: null,
      buildHttpsProxy: null,
      buildNoProxy: null,
      defaultMemory: 512 * MiB,
      startTimeout: 60,
      apiUrl: "http://127.0.0.1:5100",
      stackMirror: "http://deb.debian.org/debian",
      stackBuildImage: null,
      stackRunImage: null,
      logLevel: "info",
    });
  });

  it("reads every variable it is given", () => {
    const s = loadSettings({
      PAAS_DATA_DIR: "/tmp/paas-x",
      PAAS_REDIS_URL: "redis://10.0.0.5:6380/3",
      PAAS_NAMESPACE: "tq-abc1",
      PAAS_DOMAIN: "Apps.Example.COM",
      PAAS_API_PORT: "6000",
      PAAS_HTTP_PORT: "0",
      PAAS_BIND: "0.0.0.0",
      PAAS_ROLES: "router, worker",
      PAAS_BUILD_CONCURRENCY: "4",
      PAAS_BUILD_CA_BUNDLE: SOME_FILE,
      PAAS_BUILD_HTTP_PROXY: "http://proxy:3128",
      HTTPS_PROXY: "http://sproxy:3128",
      no_proxy: "localhost",
      PAAS_DEFAULT_MEMORY: "1g",
      PAAS_START_TIMEOUT: "5",
      PAAS_LOG_LEVEL: "debug",
    });
    expect(s).toMatchObject({
      dataDir: "/tmp/paas-x",
      redisUrl: "redis://10.0.0.5:6380/3",
      namespace: "tq-abc1",
      domain: "apps.example.com",
      apiPort: 6000,
      httpPort: 0,
      bind: "0.0.0.0",
      roles: ["router", "worker"],
      buildConcurrency: 4,
      buildCaBundle: SOME_FILE,
      buildHttpProxy: "http://proxy:3128",
      buildHttpsProxy: "http://sproxy:3128",
      buildNoProxy: "localhost",
      defaultMemory: 1024 * MiB,
      startTimeout: 5,
      // A wildcard bind is not an address clients can use: the URL says loopback.
      apiUrl: "http://127.0.0.1:6000",
      logLevel: "debug",
    });
  });

  it("defaults the build CA bundle to the host's, and 'none' turns it off", () => {
    const host = "/etc/ssl/certs/ca-certificates.crt";
    expect(loadSettings({}).buildCaBundle).toBe(fs.existsSync(host) ? host : null);
    expect(loadSettings({ PAAS_BUILD_CA_BUNDLE: "none" }).buildCaBundle).toBeNull();
  });

  it("trims trailing slashes off an explicit API URL", () => {
    expect(
      loadSettings({ PAAS_BUILD_CA_BUNDLE: "none", PAAS_API_URL: "http://paas.example:80//" }).apiUrl,
    ).toBe("http://paas.example:80");
  });

  it.each([
    [{ PAAS_API_PORT: "70000" }, /^PAAS_API_PORT="70000" is not a port number/],
    [{ PAAS_HTTP_PORT: "http" }, /^PAAS_HTTP_PORT="http" is not a port number/],
    [{ PAAS_API_PORT: "-1" }, /^PAAS_API_PORT="-1" is not a port number/],
    [
      { PAAS_ROLES: "api,bogus" },
      /^PAAS_ROLES has unknown role "bogus"; roles are api, git, worker, router$/,
    ],
    [{ PAAS_NAMESPACE: "Bad_NS" }, /^PAAS_NAMESPACE="Bad_NS" must be lower-case/],
    [{ PAAS_NAMESPACE: "1ns" }, /^PAAS_NAMESPACE="1ns" must be/],
    [{ PAAS_DEFAULT_MEMORY: "lots" }, /^PAAS_DEFAULT_MEMORY="lots" must look like 256m or 1g$/],
    [{ PAAS_DEFAULT_MEMORY: "1k" }, /^PAAS_DEFAULT_MEMORY="1k" must look like/],
    [
      { PAAS_BUILD_CA_BUNDLE: "/nonexistent/ca.pem" },
      /^PAAS_BUILD_CA_BUNDLE="\/nonexistent\/ca.pem" does not exist/,
    ],
    [{ PAAS_BUILD_CONCURRENCY: "0" }, /^PAAS_BUILD_CONCURRENCY="0" must be a whole number of 1 or more$/],
    [{ PAAS_START_TIMEOUT: "1.5" }, /^PAAS_START_TIMEOUT="1.5" must be a whole number/],
    [{ PAAS_REDIS_URL: "localhost:6379" }, /^PAAS_REDIS_URL="localhost:6379" must look like redis:/],
    [{ PAAS_DOMAIN: "-bad-.com" }, /^PAAS_DOMAIN="-bad-.com" is not a valid domain name$/],
    [{ PAAS_BIND: "example.com" }, /^PAAS_BIND="example.com" must be an IP address/],
    [{ PAAS_LOG_LEVEL: "loud" }, /^PAAS_LOG_LEVEL="loud" must be one of debug, info, warn, error$/],
  ])("gives one message naming the variable for %j", (env, message) => {
    const lines = problems({ PAAS_BUILD_CA_BUNDLE: "none", ...env });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it("reports every bad value at once, one line each", () => {
    const lines = problems({
      PAAS_API_PORT: "x",
      PAAS_ROLES: "api,nope",
      PAAS_NAMESPACE: "NS",
      PAAS_DEFAULT_MEMORY: "big",
      PAAS_BUILD_CA_BUNDLE: "/missing.pem",
    });
    expect(lines).toHaveLength(5);
    const names = [
      "PAAS_API_PORT",
      "PAAS_ROLES",
      "PAAS_NAMESPACE",
      "PAAS_DEFAULT_MEMORY",
      "PAAS_BUILD_CA_BUNDLE",
    ];
    for (const name of names) expect(lines.filter((l) => l.startsWith(name))).toHaveLength(1);
  });

  it("treats empty values as unset", () => {
    const s = loadSettings({
      PAAS_BUILD_CA_BUNDLE: "none",
      PAAS_API_PORT: "",
      PAAS_ROLES: "",
      PAAS_NAMESPACE: "",
    });
    expect(s.apiPort).toBe(5100);
    expect(s.roles).toEqual(ALL_ROLES);
    expect(s.namespace).toBe("paas");
  });

  it("documents every PAAS_ variable it reads", () => {
    const documented = new Set(SETTINGS_DOC.map((d) => d.name));
    for (const name of [
      "PAAS_DATA_DIR",
      "PAAS_REDIS_URL",
      "PAAS_NAMESPACE",
      "PAAS_DOMAIN",
      "PAAS_API_PORT",
      "PAAS_HTTP_PORT",
      "PAAS_BIND",
      "PAAS_ROLES",
      "PAAS_BUILD_CONCURRENCY",
      "PAAS_BUILD_CA_BUNDLE",
      "PAAS_DEFAULT_MEMORY",
      "PAAS_START_TIMEOUT",
      "PAAS_API_URL",
      "PAAS_LOG_LEVEL",
    ]) {
      expect(documented.has(name), name).toBe(true);
    }
  });
});

describe("parseMemory", () => {
  it.each([
    ["512m", 512 * MiB],
    ["512M", 512 * MiB],
    ["512mb", 512 * MiB],
    ["1g", 1024 * MiB],
    ["1.5g", 1536 * MiB],
    ["4096k", 4 * MiB],
    [" 256m ", 256 * MiB],
    [String(8 * MiB), 8 * MiB],
  ])("reads %j", (raw, bytes) => {
    expect(parseMemory(raw)).toBe(bytes);
  });

  it.each([[""], ["lots"], ["-1m"], ["1t"], ["m"], ["1024"], ["3m"], ["1 2m"]])(
    "refuses %j (unreadable or under 4 MiB, Docker's minimum)",
    (raw) => {
      expect(parseMemory(raw)).toBeNull();
    },
  );
});

describe("loadSettings is strict about numbers, roles and the CA bundle", () => {
  it("rejects ports and counts that are not plain digits", () => {
    for (const raw of [" ", "0x10", "1e3", "-1"]) {
      expect(problems({ PAAS_API_PORT: raw }).join("\n")).toContain("PAAS_API_PORT");
    }
    expect(problems({ PAAS_BUILD_CONCURRENCY: "1e1" }).join("\n")).toContain("PAAS_BUILD_CONCURRENCY");
  });

  it("rejects a role list that names no role", () => {
    expect(problems({ PAAS_ROLES: "," }).join("\n")).toContain("PAAS_ROLES names no role");
  });

  it("rejects a directory as the CA bundle", () => {
    expect(problems({ PAAS_BUILD_CA_BUNDLE: os.tmpdir() }).join("\n")).toContain("PAAS_BUILD_CA_BUNDLE");
  });
});
