import { readImageFile } from "../docker/image-files.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedLabels } from "../docker/labels.js";

// A named volume Docker creates is owned by root, so an image that runs as another user
// (buildpack apps run as `app`, uid 1000, in paas/stack-run) could not write to it. When the
// platform creates a volume for an app, it hands the volume's root to the user the image runs
// as, once, with a short labelled helper container (as Dokku's storage:ensure-directory
// --chown does). Later mounts keep what the app wrote, and its ownership.

/** The helper: it only needs chown, and every platform has it (scripts/setup.sh). */
export const VOLUME_HELPER_IMAGE = "paas/busybox:latest";

export interface Owner {
  uid: number;
  gid: number;
}

const NUMERIC = /^\d+$/;

/** Name -> [uid, gid] from /etc/passwd text; by uid too. */
function passwdEntry(passwd: string | null, user: string): { uid: number; gid: number } | null {
  for (const line of (passwd ?? "").split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (!name || !NUMERIC.test(uid ?? "") || !NUMERIC.test(gid ?? "")) continue;
    if (name === user || uid === user) return { uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

function groupId(group: string | null, name: string): number | null {
  for (const line of (group ?? "").split("\n")) {
    const [n, , gid] = line.split(":");
    if (n === name && NUMERIC.test(gid ?? "")) return Number(gid);
  }
  return null;
}

/**
 * Who an image's `Config.User` ("1000", "app", "app:staff", "1000:1000") is, as Docker resolves
 * it: a name through the image's /etc/passwd (and /etc/group), a bare uid's group from passwd
 * (else 0). null when it is root (nothing to hand over) or cannot be resolved (Docker refuses
 * to start such a container anyway, with its own message).
 */
export function resolveOwner(user: string, passwd: string | null, group: string | null): Owner | null {
  const [u = "", g] = user.trim().split(":");
  if (u === "") return null;
  const entry = passwdEntry(passwd, u);
  const uid = NUMERIC.test(u) ? Number(u) : entry?.uid;
  if (uid === undefined) return null;
  let gid: number | null;
  if (g === undefined || g === "") gid = entry?.gid ?? 0;
  else gid = NUMERIC.test(g) ? Number(g) : groupId(group, g);
  if (gid === null) return null;
  return uid === 0 && gid === 0 ? null : { uid, gid };
}

/** Whether `user` needs the image's files to be resolved. */
function needsFiles(user: string): boolean {
  return user.split(":").some((part) => part !== "" && !NUMERIC.test(part)) || !user.includes(":");
}

/**
 * Give a just-created volume's root to the user `image` runs as. Throws (the caller removes
 * the volume, so the next container tries again) when the helper fails.
 */
export async function chownVolumeForImage(
  docker: DockerParts,
  namespace: string,
  app: string,
  volume: string,
  image: string,
): Promise<Owner | null> {
  const info = await docker.images.inspect(image);
  const user = info?.Config?.User ?? "";
  if (user === "" || user === "root" || user === "0" || user === "0:0" || user === "root:root") return null;
  const labels = ownedLabels(namespace, { [LABEL.app]: app, [LABEL.kind]: "volume-init" });
  const files = needsFiles(user);
  const passwd = files ? await readImageFile(docker.raw, image, "/etc/passwd", labels) : null;
  const group =
    files && user.includes(":") ? await readImageFile(docker.raw, image, "/etc/group", labels) : null;
  const owner = resolveOwner(user, passwd, group);
  if (!owner) return null;
  const lines: string[] = [];
  const r = await docker.containers.runToCompletion(
    {
      name: `${namespace}.volume-init.${app}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
      Image: VOLUME_HELPER_IMAGE,
      User: "0",
      Entrypoint: ["chown"],
      Cmd: [`${owner.uid}:${owner.gid}`, "/volume"],
      Labels: labels,
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: "none",
        Mounts: [{ Type: "volume", Source: volume, Target: "/volume" }],
      },
    },
    (line) => lines.push(line),
    60_000,
  );
  if (r.exitCode !== 0) {
    throw new Error(
      `could not give volume ${volume} to the image's user ${user} (exit ${r.exitCode}): ${lines.slice(-3).join(" ")}`,
    );
  }
  return owner;
}
