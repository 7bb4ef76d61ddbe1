import fsp from "node:fs/promises";
import path from "node:path";
import type { Store } from "../store/index.js";

/**
 * The push's archive: the git receiver's file when this worker shares its data dir, else
 * the copy the receiver put in Redis (a worker on another host, `paas server --roles worker`).
 */
export async function localSource(store: Store, tarPath: string, workDir: string): Promise<string> {
  const here = await fsp.stat(tarPath).then(
    () => true,
    () => false,
  );
  if (here) return tarPath;
  const archive = await store.buildSources.get(path.basename(tarPath));
  if (!archive) {
    throw new Error(
      "the push's source archive is neither in this worker's data dir nor in Redis (expired, or too large to carry)",
    );
  }
  const local = path.join(workDir, "source.tar");
  await fsp.writeFile(local, archive);
  return local;
}

/** The archive's copy in Redis goes with the build. */
export function forgetSource(store: Store, tarPath: string): Promise<void> {
  return store.buildSources.remove(path.basename(tarPath));
}
