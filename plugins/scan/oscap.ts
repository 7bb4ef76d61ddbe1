// One scan of one image: export its filesystem (a created, never started container;
// `docker export` into a temp dir), run OpenSCAP's oscap-chroot over it with the
// benchmark in content/, write the XML results, the HTML report and the SBOM, and
// summarise the rule results.

import { spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { DockerParts } from "../../src/docker/index.js";
import { cycloneDx, inventory } from "./sbom.js";

export const PROFILE = "xccdf_io.paas.scan_profile_container";
const RULE_PREFIX = "xccdf_io.paas.scan_rule_";
/** The OVAL checks the benchmark reuses (Debian package ssg-debian). */
export const SSG_OVAL = "/usr/share/xml/scap/ssg/content/ssg-debian11-oval.xml";

export interface RuleResult {
  rule: string;
  title: string;
  severity: string;
  result: string;
}

export interface Summary {
  rules: RuleResult[];
  passed: number;
  failed: number;
  /** Rules that failed with severity high: `block` rejects the push for these. */
  highFailed: string[];
  packages: number;
}

/** Titles of the benchmark's rules, by short id. Pure over the XCCDF text. */
export function ruleTitles(xccdf: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of xccdf.matchAll(/<Rule id="([^"]+)"[^>]*>\s*<title>([^<]*)<\/title>/g))
    out[m[1].replace(RULE_PREFIX, "")] = m[2];
  return out;
}

/** The rule results of an XCCDF results file. Pure. */
export function parseResults(xml: string, titles: Record<string, string>): RuleResult[] {
  const out: RuleResult[] = [];
  for (const m of xml.matchAll(/<rule-result ([^>]*)>([\s\S]*?)<\/rule-result>/g)) {
    const attr = (k: string) => m[1].match(new RegExp(`${k}="([^"]*)"`))?.[1] ?? "";
    const rule = attr("idref").replace(RULE_PREFIX, "");
    const result = m[2].match(/<result>([^<]*)<\/result>/)?.[1] ?? "unknown";
    out.push({ rule, title: titles[rule] ?? rule, severity: attr("severity") || "unknown", result });
  }
  return out;
}

export function summarise(rules: RuleResult[], packages: number): Summary {
  const failed = rules.filter((r) => r.result === "fail" || r.result === "error");
  return {
    rules,
    passed: rules.filter((r) => r.result === "pass").length,
    failed: failed.length,
    highFailed: failed.filter((r) => r.severity === "high").map((r) => r.rule),
    packages,
  };
}

/** "15 rules: 13 passed, 2 failed (high: a, b); 312 packages". Pure. */
export function summaryLine(s: Summary): string {
  const high = s.highFailed.length ? ` (high: ${s.highFailed.join(", ")})` : "";
  return `${s.rules.length} rules: ${s.passed} passed, ${s.failed} failed${high}; ${s.packages} packages in the SBOM`;
}

function run(cmd: string, args: string[], opts: { cwd?: string; stdin?: NodeJS.ReadableStream } = {}) {
  return new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: [opts.stdin ? "pipe" : "ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    if (opts.stdin && child.stdin) {
      opts.stdin.pipe(child.stdin);
      child.stdin.on("error", () => {});
    }
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stderr }));
  });
}

/** Unpack the image's filesystem into `dir`: a created container, exported, then removed. */
async function exportImage(
  docker: DockerParts,
  namespace: string,
  image: string,
  dir: string,
): Promise<void> {
  const id = await docker.containers.create({
    name: `${namespace}-scan-${path.basename(dir).replace(/[^a-zA-Z0-9_.-]/g, "")}`,
    Image: image,
    Entrypoint: ["/nonexistent"],
    Cmd: [],
    Labels: { "paas.managed": "true", "paas.namespace": namespace, "paas.kind": "scan" },
    HostConfig: { NetworkMode: "none" },
  });
  try {
    const tar = await docker.execs.exportFs(id);
    const r = await run(
      "tar",
      ["-x", "-f", "-", "-C", dir, "--exclude=dev/*", "--exclude=proc/*", "--exclude=sys/*"],
      {
        stdin: tar,
      },
    );
    if (r.code !== 0) throw new Error(`unpacking the image failed: ${r.stderr.trim().split("\n").at(-1)}`);
  } finally {
    await docker.containers.remove(id).catch(() => {});
  }
}

/** Scan `image` and write results.xml, report.html and sbom.json into `outDir`. */
export async function scanImage(
  docker: DockerParts,
  namespace: string,
  app: string,
  image: string,
  contentDir: string,
  outDir: string,
): Promise<Summary> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-scan-"));
  try {
    const root = path.join(work, "root");
    const content = path.join(work, "content");
    await fsp.mkdir(root);
    await fsp.mkdir(content);
    await exportImage(docker, namespace, image, root);
    const xccdfText = await fsp.readFile(path.join(contentDir, "paas-container-xccdf.xml"), "utf8");
    await fsp.writeFile(path.join(content, "xccdf.xml"), xccdfText);
    if (!fs.existsSync(SSG_OVAL))
      throw new Error(`${SSG_OVAL} is missing: install ssg-debian (scripts/setup.sh does)`);
    await fsp.symlink(SSG_OVAL, path.join(content, "ssg-oval.xml"));
    await fsp.mkdir(outDir, { recursive: true });
    const results = path.join(outDir, "results.xml");
    const report = path.join(outDir, "report.html");
    // Exit 0: all passed, 2: some rule failed, else the scanner itself failed.
    const r = await run(
      "oscap-chroot",
      [root, "xccdf", "eval", "--profile", PROFILE, "--results", results, "--report", report, "xccdf.xml"],
      { cwd: content },
    );
    if (r.code !== 0 && r.code !== 2)
      throw new Error(
        `oscap-chroot failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-2).join(" ")}`,
      );
    const components = await inventory(root);
    await fsp.writeFile(
      path.join(outDir, "sbom.json"),
      JSON.stringify(cycloneDx(app, image, components), null, 2),
    );
    const rules = parseResults(await fsp.readFile(results, "utf8"), ruleTitles(xccdfText));
    return summarise(rules, components.length);
  } finally {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => {});
  }
}
