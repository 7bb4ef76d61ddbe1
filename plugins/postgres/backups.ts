// pg:backups: pg_dump -Fc of an add-on's database into the platform's data dir
// (<PAAS_DATA_DIR>/addons/<addon>/backups/<id>.dump), listed from the plugin's state,
// restored with pg_restore --clean. The dump runs inside the service container (its own
// pg_dump, same version), over its local socket.

import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { DockerParts } from "../../src/docker/index.js";
import type { PluginKv } from "../../src/plugins/types.js";
import { AddonError } from "../addons/errors.js";
import type { FoundService } from "../addons/find.js";

export interface Backup {
  id: string;
  addon: string;
  app: string;
  file: string;
  bytes: number;
  createdAt: string;
  createdBy: string;
}

const BACKUP_ID = /^b[0-9]{3,}$/;

export function parseBackupId(raw: unknown): string {
  const id = String(raw ?? "").toLowerCase();
  if (!BACKUP_ID.test(id))
    throw new AddonError(
      `backup id "${String(raw ?? "").slice(0, 40)}" is invalid: like b001 (see \`paas pg:backups\`)`,
    );
  return id;
}

export function backupsDir(dataDir: string, addon: string): string {
  return path.join(dataDir, "addons", addon, "backups");
}

const key = (addon: string, id: string) => `backup:${addon}:${id}`;

export async function listBackups(kv: PluginKv, addon: string): Promise<Backup[]> {
  return Object.values(await kv.list<Backup>(`backup:${addon}:`)).sort((a, b) => a.id.localeCompare(b.id));
}

export async function getBackup(kv: PluginKv, addon: string, id: string): Promise<Backup> {
  const b = await kv.get<Backup>(key(addon, id));
  if (!b) throw new AddonError(`no backup ${id} of ${addon}; see \`paas pg:backups\``, 404);
  return b;
}

function nextId(existing: Backup[]): string {
  const n = existing.reduce((m, b) => Math.max(m, Number(b.id.slice(1))), 0) + 1;
  return `b${String(n).padStart(3, "0")}`;
}

function dbArgs(found: FoundService): string[] {
  return ["-U", found.env.POSTGRES_USER ?? "postgres", "-d", found.env.POSTGRES_DB ?? "postgres"];
}

export async function capture(
  docker: DockerParts,
  kv: PluginKv,
  dataDir: string,
  found: FoundService,
  app: string,
  user: string,
): Promise<Backup> {
  const dir = backupsDir(dataDir, found.addon);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const id = nextId(await listBackups(kv, found.addon));
  const file = path.join(dir, `${id}.dump`);
  const partial = `${file}.partial`;
  const out = fs.createWriteStream(partial, { mode: 0o600 });
  const r = await docker.execs.run(found.id, ["pg_dump", "-Fc", "--no-owner", "--no-acl", ...dbArgs(found)], {
    stdout: out,
    user: "postgres",
  });
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  if (r.exitCode !== 0) {
    await fsp.rm(partial, { force: true });
    throw new AddonError(
      `pg_dump of ${found.addon} failed (exit ${r.exitCode}): ${r.stderr.trim().split("\n").at(-1) ?? ""}`,
      500,
    );
  }
  await fsp.rename(partial, file);
  const b: Backup = {
    id,
    addon: found.addon,
    app,
    file,
    bytes: (await fsp.stat(file)).size,
    createdAt: new Date().toISOString(),
    createdBy: user,
  };
  await kv.set(key(found.addon, id), b);
  return b;
}

export async function restore(docker: DockerParts, found: FoundService, b: Backup): Promise<void> {
  if (!fs.existsSync(b.file))
    throw new AddonError(`the file of backup ${b.id} is gone from this host (${b.file})`, 404);
  const r = await docker.execs.run(
    found.id,
    [
      "pg_restore",
      "--clean",
      "--if-exists",
      "--no-owner",
      "--no-acl",
      "--single-transaction",
      "--exit-on-error",
      ...dbArgs(found),
    ],
    { stdin: fs.createReadStream(b.file), user: "postgres" },
  );
  if (r.exitCode !== 0)
    throw new AddonError(
      `pg_restore of ${b.id} into ${found.addon} failed (exit ${r.exitCode}): ${r.stderr.trim().split("\n").at(-1) ?? ""}`,
      500,
    );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
