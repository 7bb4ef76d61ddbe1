import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// Shared by the bundled buildpacks' unit tests: run a bin/ script on a throwaway app dir.

export function appDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bp-test-"));
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (name.endsWith("/")) fs.mkdirSync(p, { recursive: true });
    else fs.writeFileSync(p, content, { mode: name.startsWith("bin/") ? 0o755 : 0o644 });
  }
  return dir;
}

export function runBin(buildpack: string, script: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const bin = path.resolve(import.meta.dirname, "../..", buildpack, "bin", script);
  const r = spawnSync(bin, args, { encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function node(args: string[], input?: string): { code: number; stdout: string } {
  try {
    return { code: 0, stdout: execFileSync("node", args, { encoding: "utf8", input }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { code: e.status, stdout: e.stdout };
  }
}
