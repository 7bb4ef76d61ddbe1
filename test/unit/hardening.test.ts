import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tarStream from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { BUILD_NETWORK, bridgeName, hostRejectRule } from "../../src/builder/build-network.js";
import { checkTar, checkTree, entryProblem, isInside, UnsafeSource } from "../../src/builder/safe-paths.js";
import { sameSecret } from "../../src/git/http.js";
import { parseGitCommand } from "../../src/git/ssh.js";
import { APP_CAP_DROP, checkAppSpec } from "../../src/runtime/hardening.js";
import { planContainer } from "../../src/runtime/plan.js";
import type { Release } from "../../src/store/releases.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paas-hardening-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function tarOf(entries: { name: string; type?: string; linkname?: string }[]): Promise<string> {
  const file = path.join(dir, `t-${Math.random().toString(36).slice(2)}.tar`);
  const pack = tarStream.pack();
  const out = fs.createWriteStream(file);
  pack.pipe(out);
  for (const e of entries) {
    const header = { name: e.name, type: (e.type ?? "file") as "file", linkname: e.linkname };
    if (header.type === "file") pack.entry(header, "x");
    else pack.entry(header);
  }
  pack.finalize();
  await new Promise<void>((r) => out.on("close", () => r()));
  return file;
}

describe("paths that leave the build directory", () => {
  it("entryProblem: .. paths, absolute paths, outward links, devices", () => {
    expect(entryProblem("app/main.js", "file")).toBeNull();
    expect(entryProblem("pax_global_header", "pax-global-header")).toBeNull();
    expect(entryProblem("a/link", "symlink", "../b")).toBeNull();
    expect(entryProblem("a/b/link", "symlink", "../../c")).toBeNull();
    expect(entryProblem("../evil", "file")).toMatch(/outside/);
    expect(entryProblem("a/../../evil", "file")).toMatch(/outside/);
    expect(entryProblem("a/../b", "file")).toMatch(/"\.\."/);
    expect(entryProblem("/etc/passwd", "file")).toMatch(/absolute/);
    expect(entryProblem("Procfile", "symlink", "/etc/passwd")).toMatch(/absolute path \/etc\/passwd/);
    expect(entryProblem("a/link", "symlink", "../../etc")).toMatch(/outside/);
    expect(entryProblem("hard", "link", "../x")).toMatch(/outside/);
    expect(entryProblem("dev", "block-device")).toMatch(/block-device/);
  });

  it("checkTar names the problems; a clean archive passes", async () => {
    await expect(
      checkTar(await tarOf([{ name: "a" }, { name: "l", type: "symlink", linkname: "a" }])),
    ).resolves.toBeUndefined();
    const bad = checkTar(
      await tarOf([{ name: "ok" }, { name: "Procfile", type: "symlink", linkname: "/etc/shadow" }]),
    );
    await expect(bad).rejects.toBeInstanceOf(UnsafeSource);
    await expect(bad).rejects.toThrow(/leave the build directory.*\/etc\/shadow/);
  });

  it("checkTree refuses a symlink that resolves outside, wherever it is", async () => {
    const root = fs.mkdtempSync(path.join(dir, "tree-"));
    fs.mkdirSync(path.join(root, "sub"));
    fs.writeFileSync(path.join(root, "sub", "f"), "x");
    fs.symlinkSync("f", path.join(root, "sub", "inside"));
    await expect(checkTree(root)).resolves.toBeUndefined();
    fs.symlinkSync("../../../etc", path.join(root, "sub", "out"));
    await expect(checkTree(root)).rejects.toThrow(/sub\/out/);
  });

  it("isInside: only a real file inside the directory, symlinks resolved", () => {
    const incoming = fs.mkdtempSync(path.join(dir, "incoming-"));
    const tar = path.join(incoming, "app-1.tar");
    fs.writeFileSync(tar, "x");
    expect(isInside(incoming, tar)).toBe(true);
    expect(isInside(incoming, "/etc/passwd")).toBe(false);
    expect(isInside(incoming, `${incoming}/../../etc/passwd`)).toBe(false);
    fs.symlinkSync("/etc/passwd", path.join(incoming, "sneaky.tar"));
    expect(isInside(incoming, path.join(incoming, "sneaky.tar"))).toBe(false);
    expect(isInside(incoming, incoming)).toBe(false);
    expect(isInside(incoming, path.join(incoming, "missing.tar"))).toBe(false);
  });
});

describe("secrets and commands at the git doors", () => {
  it("sameSecret compares whole secrets only", () => {
    expect(sameSecret("abc123", "abc123")).toBe(true);
    expect(sameSecret("abc12", "abc123")).toBe(false);
    expect(sameSecret("", "abc123")).toBe(false);
  });

  it("parseGitCommand takes only receive-pack / upload-pack of an app repository", () => {
    expect(parseGitCommand("git-receive-pack '/myapp.git'")).toEqual({
      service: "git-receive-pack",
      app: "myapp",
    });
    expect(parseGitCommand("git-upload-pack 'myapp.git'")).toEqual({
      service: "git-upload-pack",
      app: "myapp",
    });
    expect(parseGitCommand("git upload-pack '/myapp'")).toEqual({ service: "git-upload-pack", app: "myapp" });
    expect(parseGitCommand("git-receive-pack '/../etc.git'")).toBeNull();
    expect(parseGitCommand("git-receive-pack '/a/b.git'")).toBeNull();
    expect(parseGitCommand("git-receive-pack 'myapp.git'; rm -rf /")).toBeNull();
    expect(parseGitCommand("ls")).toBeNull();
  });
});

describe("app containers", () => {
  const release: Release = {
    version: 3,
    image: "paas/app:v3",
    commit: null,
    config: { A: "1" },
    processTypes: { web: "" },
    port: 5000,
    description: "",
    user: "admin",
    createdAt: "",
    status: "succeeded",
  };
  const plan = (pidsLimit?: number) =>
    planContainer({
      namespace: "paas",
      app: "myapp",
      release,
      slot: { type: "web", index: 1 },
      memory: 256 * 1024 * 1024,
      name: "myapp.web.1",
      pidsLimit,
    });

  it("run with no-new-privileges, the capabilities apps need only, a pids limit and memory", () => {
    const h = plan(300).HostConfig ?? {};
    expect(h.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(h.CapDrop).toEqual(APP_CAP_DROP);
    for (const kept of ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE"])
      expect(h.CapDrop).not.toContain(kept);
    expect(h.PidsLimit).toBe(300);
    expect(plan().HostConfig?.PidsLimit).toBe(512);
    expect(h.Memory).toBe(256 * 1024 * 1024);
    expect(h.Binds).toBeUndefined();
    expect(h.NetworkMode).toBeUndefined();
  });

  it("never the Docker socket, the host's network or namespaces, privileges", () => {
    const base = plan();
    const withHost = (extra: object) => ({ ...base, HostConfig: { ...base.HostConfig, ...extra } });
    expect(() => checkAppSpec(withHost({ NetworkMode: "host" }))).toThrow(/network mode host/);
    expect(() => checkAppSpec(withHost({ Binds: ["/var/run/docker.sock:/var/run/docker.sock"] }))).toThrow(
      /Docker socket/,
    );
    expect(() =>
      checkAppSpec(withHost({ Mounts: [{ Type: "bind", Source: "/run/docker.sock", Target: "/s" }] })),
    ).toThrow(/Docker socket/);
    expect(() => checkAppSpec(withHost({ Privileged: true }))).toThrow(/privileged/);
    expect(() => checkAppSpec(withHost({ CapAdd: ["SYS_ADMIN"] }))).toThrow(/SYS_ADMIN/);
    expect(() => checkAppSpec(withHost({ PidMode: "host" }))).toThrow(/host namespace/);
    expect(() => checkAppSpec(withHost({ SecurityOpt: [] }))).toThrow(/no-new-privileges/);
    expect(checkAppSpec(withHost({ NetworkMode: "paas-myapp" }))).toBeTruthy();
  });
});

describe("the build network", () => {
  it("bridge names fit Linux's 15 characters and one rule covers them all", () => {
    expect(bridgeName(BUILD_NETWORK).length).toBeLessThanOrEqual(15);
    expect(bridgeName(BUILD_NETWORK)).toMatch(/^pbuild[0-9a-f]{8}$/);
    expect(hostRejectRule()).toEqual([
      "INPUT",
      "-i",
      "pbuild+",
      "-j",
      "REJECT",
      "--reject-with",
      "icmp-port-unreachable",
    ]);
  });
});
