import type Docker from "dockerode";

/** The engine's CPU count (docker info NCPU), or null when it cannot be asked. */
export async function hostCpus(raw: Docker): Promise<number | null> {
  try {
    const info = (await raw.info()) as { NCPU?: unknown };
    return typeof info.NCPU === "number" && info.NCPU > 0 ? info.NCPU : null;
  } catch {
    return null;
  }
}
