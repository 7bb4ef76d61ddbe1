import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseResults, ruleTitles, summarise, summaryLine } from "../../plugins/scan/oscap.js";
import { cycloneDx, parseDpkgStatus, parsePythonMetadata } from "../../plugins/scan/sbom.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const xccdf = fs.readFileSync(path.join(ROOT, "plugins/scan/content/paas-container-xccdf.xml"), "utf8");

describe("scan results and SBOM", () => {
  it("the benchmark's rules have titles, and high severity where block should reject", () => {
    const titles = ruleTitles(xccdf);
    expect(Object.keys(titles)).toContain("file_permissions_etc_shadow");
    expect(Object.keys(titles)).toContain("accounts_no_uid_except_zero");
    expect(xccdf).toMatch(/scan_rule_accounts_no_uid_except_zero" selected="true" severity="high"/);
  });

  it("parses oscap's rule results into a summary naming the high failures", () => {
    const xml = `<TestResult>
      <rule-result idref="xccdf_io.paas.scan_rule_file_permissions_etc_shadow" role="full" severity="high" weight="1"><result>fail</result></rule-result>
      <rule-result idref="xccdf_io.paas.scan_rule_no_netrc_files" role="full" severity="low" weight="1"><result>pass</result></rule-result>
      <rule-result idref="xccdf_io.paas.scan_rule_file_permissions_etc_passwd" role="full" severity="medium" weight="1"><result>fail</result></rule-result>
    </TestResult>`;
    const s = summarise(parseResults(xml, ruleTitles(xccdf)), 7);
    expect(s.passed).toBe(1);
    expect(s.failed).toBe(2);
    expect(s.highFailed).toEqual(["file_permissions_etc_shadow"]);
    expect(s.rules[0].title).toBe("/etc/shadow is not readable by others");
    expect(summaryLine(s)).toBe(
      "3 rules: 1 passed, 2 failed (high: file_permissions_etc_shadow); 7 packages in the SBOM",
    );
  });

  it("lists installed dpkg packages (not removed ones) and pip metadata", () => {
    const status = [
      "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\n",
      "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n",
    ].join("\n");
    const c = parseDpkgStatus(status);
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({
      name: "bash",
      version: "5.2.15-2+b7",
      purl: "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64",
    });
    expect(parsePythonMetadata("Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.0\n")).toEqual({
      name: "Flask",
      version: "3.0.0",
    });
    const doc = cycloneDx("shop", "sha256:abc", c) as {
      bomFormat: string;
      specVersion: string;
      components: unknown[];
    };
    expect(doc.bomFormat).toBe("CycloneDX");
    expect(doc.specVersion).toBe("1.5");
    expect(doc.components).toHaveLength(1);
  });
});
