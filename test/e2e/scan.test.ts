import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform } from "../helpers/platform.js";

// Issue 11 end to end: every release gets an OpenSCAP report and an SBOM (policy warn:
// after the release is live, in the background); with policy block an image that fails a
// high-severity check is rejected before any release.

describe("image scanning", () => {
  const p = new Platform();
  const temps: string[] = [];

  beforeAll(async () => {
    // The test helper turns scans off for other suites; here they run as they do by default.
    // A block scan exports and checks the whole image inside post-build: more than the default 30 s on a busy box.
    await p.start({ PAAS_SCAN_POLICY: "warn", PAAS_PLUGIN_TIMEOUT: "120" });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
  });

  afterAll(async () => {
    await p.stop();
    for (const t of temps) await fsp.rm(t, { recursive: true, force: true });
  });

  async function deploy(fixture: string, app: string, before?: (repo: string) => Promise<void>) {
    const repo = await p.fixtureRepo(fixture);
    temps.push(repo);
    const created = await p.cli(["apps:create", app], { cwd: repo });
    expect(created.code, created.stderr).toBe(0);
    await before?.(repo);
    const r = await p.git(["push", "-f", "paas", "HEAD:main"], repo);
    return { repo, code: r.code, out: r.stdout + r.stderr };
  }

  it("keeps a report and an SBOM for a release, scanned after it went live (policy warn)", async () => {
    const app = `scanok-${Date.now().toString(36)}`;
    const pushed = await deploy("scan-ok", app);
    expect(pushed.code, pushed.out).toBe(0);
    expect(pushed.out).toContain("Scanning the image in the background: `paas scan:report v1`");
    expect((await p.get(app)).body).toBe("scanned\n");

    let report = "";
    for (let i = 0; i < 120 && !/rules: \d+ passed/.test(report); i++) {
      report = (await p.cli(["scan:report", "v1", "-a", app])).stdout;
      if (!/rules: \d+ passed/.test(report)) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(report).toMatch(/15 rules: 15 passed, 0 failed; \d+ packages in the SBOM/);
    expect(report).toMatch(/pass\s+high\s+file_permissions_etc_shadow/);

    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-scan-report-"));
    temps.push(dir);
    const html = path.join(dir, "report.html");
    const saved = await p.cli(["scan:report", "v1", "-a", app, "--html", html]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(await fsp.readFile(html, "utf8")).toMatch(/<html[\s\S]*OpenSCAP/i);

    // The dashboard links the report on the release's row and shows it (sandboxed).
    const login = await fetch(`${p.apiUrl}/dashboard/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: p.token }).toString(),
    });
    const cookie = login.headers.getSetCookie()[0].split(";")[0];
    const page = await (await fetch(`${p.apiUrl}/dashboard/apps/${app}`, { headers: { cookie } })).text();
    const link = `/dashboard/apps/${app}/reports/v1/scan`;
    expect(page).toContain(`href="${link}"`);
    const shown = await fetch(`${p.apiUrl}${link}`, { headers: { cookie } });
    expect(shown.status).toBe(200);
    expect(shown.headers.get("content-security-policy")).toMatch(/^sandbox/);
    expect(await shown.text()).toMatch(/OpenSCAP/);

    const sbom = await p.cli(["scan:sbom", "-a", app]);
    expect(sbom.code, sbom.stderr).toBe(0);
    const doc = JSON.parse(sbom.stdout) as {
      bomFormat: string;
      components: { name: string; purl: string }[];
    };
    expect(doc.bomFormat).toBe("CycloneDX");
    const purls = doc.components.map((c) => c.purl);
    expect(purls).toContain("pkg:npm/left-pad@1.3.0");
    expect(purls.some((u) => u.startsWith("pkg:deb/debian/nodejs@"))).toBe(true);
  });

  it("policy block rejects an image that fails a high-severity check, before any release", async () => {
    const app = `scanbad-${Date.now().toString(36)}`;
    const pushed = await deploy("scan-shadow", app, async (repo) => {
      const set = await p.cli(["scan:set", "policy", "block"], { cwd: repo });
      expect(set.code, set.stderr).toBe(0);
    });
    expect(pushed.code).not.toBe(0);
    expect(pushed.out).toContain("file_permissions_etc_shadow");
    expect(pushed.out).toContain("accounts_no_uid_except_zero");
    expect(pushed.out).toMatch(/post-build vetoed by plugin scan/);
    const releases = await p.cli(["releases", "--json", "-a", app]);
    const list = JSON.parse(releases.stdout) as { status?: string }[];
    expect(list.filter((r) => r.status === "succeeded")).toEqual([]);

    const bad = await p.cli(["scan:set", "policy", "sometimes", "-a", app]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("scan policy must be off, warn or block");
  });
});
