import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config.js";

// Swarm mode's registry settings: PAAS_REGISTRY unset means setup's own registry
// (scripts/registry.sh), and its credentials never appear in a message.

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-registry-settings-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
const base = { PAAS_DATA_DIR: dataDir, PAAS_BUILD_CA_BUNDLE: "none" };
const errorOf = (env: Record<string, string>) => {
  try {
    loadSettings({ ...base, ...env });
    return "";
  } catch (err) {
    return (err as Error).message;
  }
};

describe("registry settings", () => {
  it("has no registry with the docker scheduler, nor in swarm mode until setup started its own", () => {
    const docker = loadSettings(base);
    expect(docker.registry).toBeNull();
    expect(docker.registryLocal).toBe(false);
    // No config.yml of setup's registry in the data dir: images stay on the manager's engine.
    const swarm = loadSettings({ ...base, PAAS_SCHEDULER: "swarm" });
    expect(swarm.registry).toBeNull();
    expect(swarm.registryConfig).toBeNull();
  });

  it("defaults to setup's registry once it is there, follows PAAS_REGISTRY_LISTEN, and none opts out", () => {
    fs.mkdirSync(path.join(dataDir, "registry"), { recursive: true });
    fs.writeFileSync(path.join(dataDir, "registry", "config.yml"), "version: 0.1\n");
    const swarm = loadSettings({ ...base, PAAS_SCHEDULER: "swarm" });
    expect(swarm).toMatchObject({
      registry: "127.0.0.1:5000",
      registryLocal: true,
      registryConfig: path.join(dataDir, "registry", "config.yml"),
      registryAuth: null,
      registryTls: false,
    });
    expect(loadSettings(base).registry).toBeNull();
    const s = loadSettings({ ...base, PAAS_SCHEDULER: "swarm", PAAS_REGISTRY_LISTEN: "10.0.0.2:5001" });
    expect(s.registry).toBe("10.0.0.2:5001");
    expect(s.registryConfig).toBe(path.join(dataDir, "registry", "config.yml"));
    // Listening on every address: this host reaches it on loopback.
    expect(
      loadSettings({ ...base, PAAS_SCHEDULER: "swarm", PAAS_REGISTRY_LISTEN: "0.0.0.0:5000" }).registry,
    ).toBe("127.0.0.1:5000");
    const none = loadSettings({ ...base, PAAS_SCHEDULER: "swarm", PAAS_REGISTRY: "none" });
    expect(none.registry).toBeNull();
    expect(none.registryConfig).toBeNull();
    // An external registry: no local config unless named.
    const ext = loadSettings({ ...base, PAAS_SCHEDULER: "swarm", PAAS_REGISTRY: "reg.example:443" });
    expect(ext).toMatchObject({ registry: "reg.example:443", registryLocal: false, registryConfig: null });
  });

  it("takes credentials, TLS and a CA, and checks them without printing the password", () => {
    const ca = path.join(dataDir, "ca.pem");
    fs.writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
    const s = loadSettings({
      ...base,
      PAAS_SCHEDULER: "swarm",
      PAAS_REGISTRY_USERNAME: "paas",
      PAAS_REGISTRY_PASSWORD: "hunter2-secret",
      PAAS_REGISTRY_TLS: "on",
      PAAS_REGISTRY_CA: ca,
    });
    expect(s.registryAuth).toEqual({ username: "paas", password: "hunter2-secret" });
    expect(s.registryTls).toBe(true);
    expect(s.registryCa).toBe(ca);
    // A TLS certificate for setup's registry turns HTTPS on by default.
    expect(
      loadSettings({
        ...base,
        PAAS_SCHEDULER: "swarm",
        PAAS_REGISTRY_TLS_CERT: ca,
        PAAS_REGISTRY_TLS_KEY: ca,
      }).registryTls,
    ).toBe(true);

    const msg = errorOf({
      PAAS_SCHEDULER: "swarm",
      PAAS_REGISTRY_PASSWORD: "hunter2-secret",
      PAAS_REGISTRY_TLS: "yes",
      PAAS_REGISTRY_CA: "/nonexistent/ca.pem",
      PAAS_REGISTRY_LISTEN: "5000",
      PAAS_REGISTRY_TLS_CERT: ca,
    });
    expect(msg).toContain("PAAS_REGISTRY_USERNAME and PAAS_REGISTRY_PASSWORD go together");
    expect(msg).toContain('PAAS_REGISTRY_TLS="yes" must be on or off');
    expect(msg).toContain('PAAS_REGISTRY_CA="/nonexistent/ca.pem" does not exist');
    expect(msg).toContain('PAAS_REGISTRY_LISTEN="5000" must be host:port');
    expect(msg).toContain("PAAS_REGISTRY_TLS_CERT and PAAS_REGISTRY_TLS_KEY go together");
    expect(msg).not.toContain("hunter2");
    expect(errorOf({ PAAS_REGISTRY_USERNAME: "a:b", PAAS_REGISTRY_PASSWORD: "hunter2-secret" })).toMatch(
      /PAAS_REGISTRY_USERNAME="a:b" must be .*htpasswd/,
    );
    expect(errorOf({ PAAS_REGISTRY: "http://r.example:5000" })).toContain("or none");
  });
});
