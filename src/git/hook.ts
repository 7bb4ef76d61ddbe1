// The pre-receive hook. git runs it with the pushed objects in quarantine, so it exports
// the pushed commit itself (`git archive`, through simple-git) and hands the rest to the
// platform, printing the deploy's log as it arrives; git shows it as "remote:" lines.
// Exit 0 accepts the push, anything else rejects it.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { simpleGit } from "simple-git";
import { checkTar, UnsafeSource } from "../builder/safe-paths.js";

const DEPLOY_BRANCHES = ["refs/heads/main", "refs/heads/master"];
const ZERO = /^0+$/;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  const url = process.env.PAAS_HOOK_URL;
  const secret = process.env.PAAS_HOOK_SECRET;
  const app = process.env.PAAS_APP;
  const dataDir = process.env.PAAS_DATA_DIR;
  if (!url || !secret || !app || !dataDir) {
    console.error("this repository only accepts pushes through the paas git endpoint");
    return 1;
  }
  const updates = (await readStdin())
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [oldSha, newSha, ref] = l.split(" ");
      return { oldSha, newSha, ref };
    });
  const others = updates.filter((u) => !DEPLOY_BRANCHES.includes(u.ref));
  if (others.length > 0) {
    console.error(
      `! pushing ${others.map((u) => u.ref.replace("refs/heads/", "")).join(", ")} is not allowed:`,
    );
    console.error("! only main or master deploy; push with: git push paas HEAD:main");
    return 1;
  }
  const update = updates[updates.length - 1];
  if (!update) return 0;
  if (ZERO.test(update.newSha)) {
    console.error(`! deleting ${update.ref} is not allowed on paas`);
    return 1;
  }

  const buildsDir = path.join(dataDir, "incoming");
  fs.mkdirSync(buildsDir, { recursive: true, mode: 0o700 });
  const tarPath = path.join(buildsDir, `${app}-${crypto.randomBytes(6).toString("hex")}.tar`);
  // simple-git drops GIT_* variables unless allowed; these point at the quarantined objects.
  const git = simpleGit({
    allowEnvironment: [
      "GIT_DIR",
      "GIT_OBJECT_DIRECTORY",
      "GIT_ALTERNATE_OBJECT_DIRECTORIES",
      "GIT_QUARANTINE_PATH",
    ],
  });
  try {
    await git.raw(["archive", "--format=tar", `--output=${tarPath}`, update.newSha]);
  } catch (err) {
    fs.rmSync(tarPath, { force: true });
    // git itself refuses to export a tree with ".." entries ("invalid path '../x'").
    const bad = /invalid path '([^']*)'/.exec(err instanceof Error ? err.message : String(err));
    if (!bad) throw err;
    console.error(
      `! push rejected: the commit has a path that leaves the build directory (${bad[1]}): remove it and push again`,
    );
    return 1;
  }
  // Paths that leave the build directory ("../x") and links pointing out of it: refused here,
  // before the platform unpacks anything.
  try {
    await checkTar(tarPath);
  } catch (err) {
    fs.rmSync(tarPath, { force: true });
    if (!(err instanceof UnsafeSource)) throw err;
    console.error(`! push rejected: ${err.message}`);
    return 1;
  }

  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-paas-hook-secret": secret },
    body: JSON.stringify({
      app,
      ref: update.ref,
      commit: update.newSha,
      tarPath,
      user: process.env.PAAS_USER ?? "",
    }),
  });
  if (!res.ok || !res.body) {
    console.error(`! the platform refused the push: ${(await res.text()).trim()}`);
    fs.rmSync(tarPath, { force: true });
    return 1;
  }
  let ok = false;
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      if (!line) continue;
      const e = JSON.parse(line) as { type: string; text?: string; ok?: boolean; message?: string };
      if (e.type === "line") process.stdout.write(`${e.text}\n`);
      else if (e.type === "end") {
        ok = Boolean(e.ok);
        if (!ok) process.stdout.write(`\n !     Push rejected: ${e.message}\n`);
      }
    }
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`! push failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
