import { createHash, randomBytes } from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { DockerParts } from "../../docker/index.js";
import { LABEL } from "../../docker/labels.js";
import { BuildFailed } from "../../errors.js";
import { BUILD_UID, DEFAULT_PORT, processTypesFile, SLUG_TEMPLATES } from "./plan.js";

// Slug -> image. A committed container, not a generated Dockerfile: a container of the run
// stack copies the slug in (see commitSlugImage), then it is committed with the image config
// as `changes`. Measured here: ~1 s against ~3.5 s for the equivalent Dockerfile
// build, because the legacy builder commits one layer per COPY and one image per metadata
// instruction; a commit makes exactly one layer (the slug) with no build-context upload and
// no builder cache to manage. Only cp/chown run in the container, so the image is the run
// stack plus the slug plus this fixed config.

/** The image config set on commit (Dockerfile syntax, as `docker commit --change`). */
export function slugImageChanges(): string[] {
  return [
    `ENV HOME=/app PORT=${DEFAULT_PORT}`,
    "WORKDIR /app",
    `USER ${BUILD_UID}:${BUILD_UID}`,
    `EXPOSE ${DEFAULT_PORT}`,
    'ENTRYPOINT ["/bin/bash", "/etc/paas/entrypoint.sh"]',
    "CMD []",
  ];
}

/** "ns/app:v3" -> ["ns/app", "v3"]; a registry port is not a tag ("host:5000/app"). */
export function splitImageTag(ref: string): [string, string] {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}

export interface CommitSlugInput {
  docker: DockerParts;
  namespace: string;
  app: string;
  release: string;
  runImage: string;
  slugDir: string;
  imageTag: string;
  processTypes: Record<string, string>;
  /** Labels of the helper container (ctx.labels). */
  helperLabels: Record<string, string>;
  /** Labels of the produced image. */
  imageLabels: Record<string, string>;
}

/** Top-level slug folders that hold installed dependencies: they get a layer of their own. */
// (.heroku/python, not all of .heroku: buildpacks rewrite small files elsewhere in .heroku
// on every build, which would make the layer look new each time.)
export const VENDOR_DIRS = ["node_modules", ".heroku/python"] as const;

/**
 * A fingerprint of the vendor folders (paths, modes, symlink targets, sizes, mtimes) and of
 * the run stack image they sit on: equal fingerprints mean an identical layer.
 */
export async function vendorFingerprint(
  slugDir: string,
  dirs: readonly string[],
  base: string,
): Promise<string> {
  const hash = createHash("sha256").update(`base ${base}\n`);
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(path.join(slugDir, rel), { withFileTypes: true });
    entries.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    for (const e of entries) {
      const r = `${rel}/${e.name}`;
      const full = path.join(slugDir, r);
      if (e.isDirectory()) {
        hash.update(`d ${r}\n`);
        await walk(r);
      } else if (e.isSymbolicLink()) {
        hash.update(`l ${r} ${await fsp.readlink(full)}\n`);
      } else if (e.isFile()) {
        // Size and modification time stand for the content: a restored cache keeps its
        // mtimes (cp -a), a fresh install writes new ones. Reading every byte cost seconds.
        const st = await fsp.stat(full);
        hash.update(`f ${r} ${st.mode & 0o777} ${st.size} ${Math.trunc(st.mtimeMs)}\n`);
      }
    }
  };
  for (const d of dirs) await walk(d);
  return hash.digest("hex");
}

export interface SlugImage {
  bytes: number;
  /** Whether an existing dependency layer was reused (null: the slug has no vendor folder). */
  vendorReused: boolean | null;
}

/**
 * Make the app image. Two layers on the run stack: the slug's vendor folders (node_modules,
 * .heroku/python), reused as is when their contents did not change, and the rest of the slug with
 * the boot files. Each is made by a container that copies from a read-only bind mount and is
 * committed (only tar/cp run in it, with no network): copying a node_modules-sized slug is
 * most of an image's time on this disk, so a warm build must not redo it.
 */
export async function commitSlugImage(input: CommitSlugInput): Promise<SlugImage> {
  const { docker } = input;
  const vendor: string[] = [];
  for (const d of VENDOR_DIRS) {
    if ((await fsp.stat(path.join(input.slugDir, d)).catch(() => null))?.isDirectory()) vendor.push(d);
  }
  let base = input.runImage;
  let vendorReused: boolean | null = null;
  if (vendor.length > 0) {
    const runId = (await docker.images.inspect(input.runImage))?.Id ?? input.runImage;
    const key = await vendorFingerprint(input.slugDir, vendor, runId);
    const [repo] = splitImageTag(input.imageTag);
    const vendorRef = `${repo}-deps:${key.slice(0, 24)}`;
    vendorReused = (await docker.images.inspect(vendorRef)) !== null;
    if (!vendorReused) {
      await copyAndCommit(input, input.runImage, copyVendorScript(vendor), vendorRef, [], {
        ...input.imageLabels,
        [LABEL.kind]: "deps",
      });
    }
    await forgetOtherVendorLayers(input, vendorRef);
    base = vendorRef;
  }
  const out = await copyAndCommit(
    input,
    base,
    copyRestScript(vendor),
    input.imageTag,
    slugImageChanges(),
    input.imageLabels,
  );
  return { bytes: Number(out[out.length - 1]) || 0, vendorReused };
}

/** Untag the app's older dependency layers (images built on them keep their layers). */
async function forgetOtherVendorLayers(input: CommitSlugInput, keep: string): Promise<void> {
  const images = await input.docker.images.list({
    label: [`${LABEL.app}=${input.app}`, `${LABEL.kind}=deps`, `${LABEL.namespace}=${input.namespace}`],
  });
  for (const img of images) {
    for (const t of img.RepoTags ?? []) if (t !== keep) await input.docker.images.remove(t);
  }
}

async function copyAndCommit(
  input: CommitSlugInput,
  base: string,
  script: string,
  ref: string,
  changes: string[],
  labels: Record<string, string>,
): Promise<string[]> {
  const { docker } = input;
  const boot = await fsp.mkdtemp(path.join(os.tmpdir(), "paas-slug-boot-"));
  let id: string | null = null;
  try {
    await fsp.copyFile(path.join(SLUG_TEMPLATES, "entrypoint.sh"), path.join(boot, "entrypoint.sh"));
    await fsp.writeFile(path.join(boot, "process-types"), processTypesFile(input.processTypes));
    await fsp.chmod(boot, 0o755);
    id = await docker.containers.create({
      name: `${input.namespace}-slug-${input.app}-${input.release}-${randomBytes(3).toString("hex")}`,
      Image: base,
      Labels: { ...input.helperLabels, [LABEL.kind]: "build" },
      User: "0:0",
      Entrypoint: ["/bin/sh", "-c", script],
      Cmd: [],
      NetworkDisabled: true,
      HostConfig: { Binds: [`${input.slugDir}:${SLUG_MOUNT}:ro`, `${boot}:${BOOT_MOUNT}:ro`] },
    });
    await docker.containers.start(id);
    const code = await docker.containers.wait(id);
    const out = await docker.containers.logs(id, { tail: 20 });
    if (code !== 0) throw new BuildFailed(`copying the slug into the image failed (exit code ${code})`, out);
    const [repo, tag] = splitImageTag(ref);
    await docker.containers.commit(id, repo, tag, changes, labels);
    return out;
  } finally {
    if (id) await docker.containers.remove(id);
    await fsp.rm(boot, { recursive: true, force: true });
  }
}

const SLUG_MOUNT = "/tmp/paas-slug";
const BOOT_MOUNT = "/tmp/paas-boot";
const TAR_OWNER = `--owner=${BUILD_UID} --group=${BUILD_UID} --numeric-owner`;

/** The vendor folders into /app, owned by the app user. (Names come from VENDOR_DIRS.) */
function copyVendorScript(vendor: string[]): string {
  return [
    "set -e",
    "mkdir -p /app",
    `tar -C ${SLUG_MOUNT} ${TAR_OWNER} -cf - ${vendor.map((d) => `./${d}`).join(" ")} | tar -C /app -xf -`,
  ].join("\n");
}

/** The rest of the slug into /app, boot files into /etc/paas; prints the slug's bytes. */
function copyRestScript(vendor: string[]): string {
  return [
    "set -e",
    "mkdir -p /app /etc/paas",
    `tar -C ${SLUG_MOUNT} ${TAR_OWNER} ${vendor.map((d) => `--exclude=./${d}`).join(" ")} -cf - . | tar -C /app -xf -`,
    `cp ${BOOT_MOUNT}/entrypoint.sh ${BOOT_MOUNT}/process-types /etc/paas/`,
    "chmod 755 /etc/paas/entrypoint.sh && chmod 644 /etc/paas/process-types",
    "du -sb /app | cut -f1",
  ].join("\n");
}
