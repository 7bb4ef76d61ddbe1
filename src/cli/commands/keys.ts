import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { invalid } from "../../errors.js";
import { type Cli, clientOf, progress } from "../context.js";
import { fileProblem } from "../file-errors.js";
import { formatTable, heading, json } from "../output.js";

// `paas keys*`: the SSH keys git over SSH accepts for you; `paas secrets:rotate-key` (admins).

export interface KeyInfo {
  fingerprint: string;
  type: string;
  comment: string;
  user: string;
  addedAt: string;
}

export interface RotateReport {
  rotated: boolean;
  oldKey: string | null;
  currentKey: string;
  resealed: number;
  remaining: number;
}

export function formatKeys(keys: KeyInfo[]): string[] {
  if (keys.length === 0) return ["No SSH keys. Add one with paas keys:add ~/.ssh/id_ed25519.pub"];
  return [
    heading(`${keys[0].user} SSH Keys`),
    ...formatTable(
      ["Fingerprint", "Type", "Comment", "Added"],
      keys.map((k) => [k.fingerprint, k.type, k.comment, k.addedAt]),
    ),
  ];
}

export function formatRotate(r: RotateReport): string[] {
  const lines = [
    r.rotated
      ? `Secrets key rotated: ${r.oldKey} -> ${r.currentKey}; ${r.resealed} values re-sealed`
      : `Re-sealed ${r.resealed} values with PAAS_SECRET_KEY (key ${r.currentKey})`,
  ];
  if (r.remaining > 0)
    lines.push(
      `${r.remaining} values changed meanwhile and still use an older key (kept readable): run it again`,
    );
  else if (r.rotated)
    lines.push("Hosts that get the key through PAAS_SECRET_KEY need the new one: the API host's secret.key");
  else
    lines.push(
      "To change the key itself: set a new PAAS_SECRET_KEY (old one in PAAS_SECRET_KEY_PREVIOUS) and run this again",
    );
  return lines;
}

/** The public key file to add: the one named, or the first of ~/.ssh/id_{ed25519,ecdsa,rsa}.pub. */
function readKeyFile(cli: Cli, file: string | undefined): string {
  const candidates = file
    ? [path.resolve(cli.cwd, file)]
    : ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"].map((f) =>
        path.join(cli.home || os.homedir(), ".ssh", f),
      );
  for (const c of candidates) {
    try {
      return fs.readFileSync(c, "utf8");
    } catch (err) {
      if (file) throw invalid(`cannot read the key file ${file}: ${fileProblem(err)}`);
    }
  }
  throw invalid("no public key in ~/.ssh: give the file, e.g. paas keys:add ~/.ssh/id_ed25519.pub");
}

export function registerKeys(program: Command, cli: Cli): void {
  program
    .command("keys")
    .description("list your SSH keys (for git push over SSH)")
    .option("--json", "print JSON")
    .action(async (opts) => {
      const keys = await clientOf(cli).json<KeyInfo[]>("GET", "/keys");
      cli.io.out(opts.json ? json(keys) : formatKeys(keys).join("\n"));
    });

  program
    .command("keys:add [file]")
    .description("add an SSH public key (default: ~/.ssh/id_ed25519.pub) for git push over SSH")
    .option("--json", "print JSON")
    .action(async (file: string | undefined, opts) => {
      const key = readKeyFile(cli, file);
      const added = await progress(cli.io, "Adding SSH key", () =>
        clientOf(cli).json<KeyInfo>("POST", "/keys", { key }),
      );
      cli.io.out(opts.json ? json(added) : `Added ${added.type} key ${added.fingerprint}`);
    });

  program
    .command("keys:remove <fingerprint>")
    .description("remove an SSH key by its fingerprint (SHA256:..., see paas keys)")
    .action(async (fingerprint: string) => {
      await progress(cli.io, `Removing SSH key ${fingerprint}`, () =>
        clientOf(cli).json("DELETE", `/keys/${encodeURIComponent(fingerprint)}`),
      );
    });

  program
    .command("secrets:rotate-key")
    .description("re-seal every secret at rest (config, releases, TLS keys, drains) with a new key (admin)")
    .option("--json", "print JSON")
    .action(async (opts) => {
      const r = await progress(cli.io, "Rotating the secrets key", () =>
        clientOf(cli).json<RotateReport>("POST", "/secrets/rotate-key"),
      );
      cli.io.out(opts.json ? json(r) : formatRotate(r).join("\n"));
    });
}
