import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import dockerignoreModule from "@balena/dockerignore";
import tar from "tar-fs";
import { BuildFailed } from "../errors.js";
import { checkTar, UnsafeSource } from "./safe-paths.js";

// A CommonJS module whose typings declare an ES default export.
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

/** Unpack an exported commit (a tar made by `git archive`) into a fresh directory. */
export async function unpackSource(tarPath: string, dest: string): Promise<void> {
  // Nothing that leaves dest ("../", absolute paths, outward links) is unpacked.
  try {
    await checkTar(tarPath);
  } catch (err) {
    if (err instanceof UnsafeSource) throw new BuildFailed(err.message);
    throw err;
  }
  await fsp.mkdir(dest, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(tarPath)
      .on("error", reject)
      .pipe(tar.extract(dest))
      .on("finish", () => resolve())
      .on("error", reject);
  });
}

/** Every file path under dir, relative, with forward slashes. */
async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) {
      const inner = await walk(dir, p);
      out.push(...(inner.length > 0 ? inner : [p]));
    } else out.push(p);
  }
  return out;
}

/**
 * A tar stream of the build context that honours .dockerignore the way Docker does; the
 * Dockerfile, .dockerignore and the platform's own build files are always sent.
 */
export async function packContext(dir: string, alwaysInclude: string[]): Promise<Readable> {
  let files = await walk(dir);
  const ignoreFile = path.join(dir, ".dockerignore");
  if (fs.existsSync(ignoreFile)) {
    const ig = dockerignore({ ignorecase: false }).add(await fsp.readFile(ignoreFile, "utf8"));
    const keep = new Set(ig.filter(files));
    files = files.filter((f) => keep.has(f) || alwaysInclude.some((a) => f === a || f.startsWith(`${a}/`)));
  }
  return tar.pack(dir, { entries: files }) as unknown as Readable;
}
