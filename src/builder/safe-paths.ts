import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import tarStream from "tar-stream";

// Sources the platform unpacks (a pushed commit's archive, a buildpack clone) must stay
// inside their build directory: no entry may name a path outside it (`../x`, `/etc/x`),
// and no symlink or hard link may point outside it. The platform reads files of the
// source on the host (Procfile, app.json, package.json...), so an outward link would
// read the host's files; it is refused before anything is unpacked.

/** What is wrong with one archive entry, or null. Names are relative to the build dir. */
export function entryProblem(name: string, type: string, linkname?: string | null): string | null {
  const clean = name.replace(/\\/g, "/");
  if (clean.startsWith("/") || /^[A-Za-z]:/.test(clean)) return `${name}: an absolute path`;
  const norm = path.posix.normalize(clean);
  if (norm === ".." || norm.startsWith("../")) return `${name}: a path outside the build directory`;
  if (clean.split("/").includes("..")) return `${name}: a path with ".."`;
  if (type === "symlink" || type === "link") {
    const target = (linkname ?? "").replace(/\\/g, "/");
    if (target === "") return `${name}: a link without a target`;
    if (target.startsWith("/")) return `${name}: a link to the absolute path ${target}`;
    // A symlink is relative to its own directory; a hard link's target to the archive root.
    const resolved =
      type === "symlink"
        ? path.posix.normalize(path.posix.join(path.posix.dirname(norm), target))
        : path.posix.normalize(target);
    if (resolved === ".." || resolved.startsWith("../"))
      return `${name}: a link to ${target}, outside the build directory`;
  }
  if (
    type !== "file" &&
    type !== "directory" &&
    type !== "symlink" &&
    type !== "link" &&
    !type.endsWith("-header")
  )
    return `${name}: a ${type} entry`;
  return null;
}

export class UnsafeSource extends Error {}

const explain = (problems: string[]) =>
  `the source has paths that leave the build directory (${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; and ${problems.length - 3} more` : ""}): remove them and push again`;

/** Check every entry of a tar file; throws UnsafeSource naming the first few problems. */
export async function checkTar(tarPath: string): Promise<void> {
  const problems: string[] = [];
  const extract = tarStream.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, stream, next) => {
      const p = entryProblem(header.name, header.type ?? "file", header.linkname);
      if (p) problems.push(p);
      stream.on("end", () => next());
      stream.resume();
    });
    extract.on("finish", () => resolve());
    extract.on("error", reject);
    fs.createReadStream(tarPath).on("error", reject).pipe(extract);
  });
  if (problems.length > 0) throw new UnsafeSource(explain(problems));
}

/** Check an unpacked tree (a clone): every symlink must resolve inside it. */
export async function checkTree(root: string): Promise<void> {
  const real = await fsp.realpath(root);
  const problems: string[] = [];
  const walk = async (rel: string) => {
    for (const ent of await fsp.readdir(path.join(real, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isSymbolicLink()) {
        const target = await fsp.readlink(path.join(real, p));
        const problem = entryProblem(p, "symlink", target);
        if (problem) problems.push(problem);
      } else if (ent.isDirectory() && ent.name !== ".git") await walk(p);
    }
  };
  await walk("");
  if (problems.length > 0) throw new UnsafeSource(explain(problems));
}

/** Whether `file` is really inside `dir` (both resolved, symlinks followed). */
export function isInside(dir: string, file: string): boolean {
  try {
    const d = fs.realpathSync(dir);
    const f = fs.realpathSync(file);
    return f.startsWith(`${d}${path.sep}`) && fs.statSync(f).isFile();
  } catch {
    return false;
  }
}
