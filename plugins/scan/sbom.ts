// A package inventory of an image's exported filesystem as CycloneDX 1.5 JSON: Debian
// packages (dpkg status), npm packages (package.json under node_modules) and Python
// packages (*.dist-info/METADATA). Vulnerability feeds need the internet; this is the list
// such a feed would be matched against elsewhere.

import crypto from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";

export interface Component {
  type: "library" | "application";
  name: string;
  version: string;
  purl: string;
  "bom-ref": string;
  properties?: { name: string; value: string }[];
}

/** dpkg's status file: the installed packages. Pure. */
export function parseDpkgStatus(text: string): Component[] {
  const out: Component[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const field = (k: string) => para.match(new RegExp(`^${k}: (.*)$`, "m"))?.[1]?.trim();
    const name = field("Package");
    const version = field("Version");
    if (!name || !version || !/\binstalled$/.test(field("Status") ?? "")) continue;
    const arch = field("Architecture") ?? "all";
    const purl = `pkg:deb/debian/${encodeURIComponent(name)}@${encodeURIComponent(version)}?arch=${arch}`;
    out.push({ type: "library", name, version, purl, "bom-ref": purl });
  }
  return out;
}

/** A Python METADATA file's name and version. Pure. */
export function parsePythonMetadata(text: string): { name: string; version: string } | null {
  const name = text.match(/^Name: (.*)$/m)?.[1]?.trim();
  const version = text.match(/^Version: (.*)$/m)?.[1]?.trim();
  return name && version ? { name, version } : null;
}

const SKIP = new Set(["proc", "sys", "dev"]);
const MAX_ENTRIES = 400_000;

/** Walk the tree once, collecting npm and pip packages (bounded). */
async function walk(root: string, found: { npm: string[]; pip: string[] }): Promise<void> {
  let seen = 0;
  const stack: string[] = [root];
  while (stack.length > 0 && seen < MAX_ENTRIES) {
    const dir = stack.pop() as string;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    const grand = path.basename(path.dirname(dir));
    for (const e of entries) {
      seen++;
      if (!e.isDirectory()) {
        if (
          e.name === "package.json" &&
          (grand === "node_modules" ||
            (grand.startsWith("@") && path.basename(path.dirname(path.dirname(dir))) === "node_modules"))
        )
          found.npm.push(path.join(dir, e.name));
        continue;
      }
      if (dir === root && SKIP.has(e.name)) continue;
      if (e.name.endsWith(".dist-info")) {
        found.pip.push(path.join(dir, e.name, "METADATA"));
        continue;
      }
      stack.push(path.join(dir, e.name));
    }
  }
}

export async function inventory(root: string): Promise<Component[]> {
  const components: Component[] = [];
  const status = await fsp.readFile(path.join(root, "var/lib/dpkg/status"), "utf8").catch(() => "");
  components.push(...parseDpkgStatus(status));
  const found = { npm: [] as string[], pip: [] as string[] };
  await walk(root, found);
  const seen = new Set<string>();
  for (const file of found.npm) {
    try {
      const pkg = JSON.parse(await fsp.readFile(file, "utf8")) as { name?: unknown; version?: unknown };
      if (typeof pkg.name !== "string" || typeof pkg.version !== "string") continue;
      const name = pkg.name.startsWith("@") ? `%40${pkg.name.slice(1)}` : pkg.name;
      const purl = `pkg:npm/${name}@${encodeURIComponent(pkg.version)}`;
      if (seen.has(purl)) continue;
      seen.add(purl);
      components.push({
        type: "library",
        name: pkg.name,
        version: pkg.version,
        purl,
        "bom-ref": purl,
        properties: [{ name: "paas:path", value: `/${path.relative(root, path.dirname(file))}` }],
      });
    } catch {
      // not a package manifest we can read
    }
  }
  for (const file of found.pip) {
    const meta = parsePythonMetadata(await fsp.readFile(file, "utf8").catch(() => ""));
    if (!meta) continue;
    const purl = `pkg:pypi/${encodeURIComponent(meta.name.toLowerCase())}@${encodeURIComponent(meta.version)}`;
    if (seen.has(purl)) continue;
    seen.add(purl);
    components.push({ type: "library", name: meta.name, version: meta.version, purl, "bom-ref": purl });
  }
  return components;
}

/** The CycloneDX 1.5 document. Pure. */
export function cycloneDx(app: string, image: string, components: Component[], now = new Date()): object {
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${crypto.randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: now.toISOString(),
      tools: { components: [{ type: "application", name: "paas scan" }] },
      component: { type: "container", name: app, version: image, "bom-ref": image },
    },
    components,
  };
}
