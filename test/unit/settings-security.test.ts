import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadSettings, SETTINGS_DOC } from "../../src/config.js";

// The settings of SSH git, secrets at rest and hardening (issue 10).

function problemsOf(env: Record<string, string>): string {
  try {
    loadSettings(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected loadSettings to fail");
}

describe("security settings", () => {
  it("defaults: SSH on 2222, the data dir's key, 512 pids, isolated builds", () => {
    const s = loadSettings({});
    expect(s.sshPort).toBe(2222);
    expect(s.sshPortSet).toBe(false);
    expect(s.secretKey).toBeNull();
    expect(s.secretKeysPrevious).toEqual([]);
    expect(s.pidsLimit).toBe(512);
    expect(s.buildNetwork).toBe("isolated");
  });

  it("reads them, and PAAS_SSH_PORT=off turns SSH off", () => {
    const key = crypto.randomBytes(32);
    const old = crypto.randomBytes(32);
    const s = loadSettings({
      PAAS_SSH_PORT: "2200",
      PAAS_SECRET_KEY: key.toString("base64"),
      PAAS_SECRET_KEY_PREVIOUS: `${old.toString("hex")}, `,
      PAAS_PIDS_LIMIT: "100",
      PAAS_BUILD_NETWORK: "bridge",
    });
    expect(s.sshPort).toBe(2200);
    expect(s.sshPortSet).toBe(true);
    expect(s.secretKey?.equals(key)).toBe(true);
    expect(s.secretKeysPrevious.map((k) => k.toString("hex"))).toEqual([old.toString("hex")]);
    expect(s.pidsLimit).toBe(100);
    expect(s.buildNetwork).toBe("bridge");
    expect(loadSettings({ PAAS_SSH_PORT: "off" }).sshPort).toBeNull();
  });

  it("names each bad value with what to do", () => {
    const msg = problemsOf({
      PAAS_SSH_PORT: "ssh",
      PAAS_SECRET_KEY: "too-short",
      PAAS_PIDS_LIMIT: "0",
      PAAS_BUILD_NETWORK: "host",
    });
    expect(msg).toContain('PAAS_SSH_PORT="ssh" is not a port number');
    expect(msg).toContain(
      "PAAS_SECRET_KEY must be 32 random bytes in base64 (make one with: openssl rand -base64 32)",
    );
    expect(msg).toContain('PAAS_PIDS_LIMIT="0" must be a whole number of 1 or more');
    expect(msg).toContain(
      'PAAS_BUILD_NETWORK="host" must be isolated or the name of a Docker network (not host)',
    );
    expect(msg).not.toContain("too-short");
  });

  it("documents them for the README and paas server --help", () => {
    const names = SETTINGS_DOC.map((d) => d.name);
    for (const n of [
      "PAAS_SSH_PORT",
      "PAAS_SECRET_KEY",
      "PAAS_SECRET_KEY_PREVIOUS",
      "PAAS_PIDS_LIMIT",
      "PAAS_BUILD_NETWORK",
    ])
      expect(names).toContain(n);
  });
});
