import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { invalid, PaasError } from "../../errors.js";
import type { ApiClient } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { fileProblem } from "../file-errors.js";
import { formatPairs, formatTable, heading, json } from "../output.js";

// `paas certs*`: TLS certificates added by hand, the platform default (--default, admin),
// and automatic ones from ACME (certs:auto, alias letsencrypt:enable).

export interface CertInfo {
  id: string;
  names: string[];
  notAfter: string;
  issuer: string;
  source: "manual" | "acme";
  selfSigned: boolean;
  daysLeft?: number;
}

export interface AutoStatus {
  enabled: boolean;
  state: string;
  message: string;
  lastAttempt: string | null;
  nextAttempt: string | null;
  failures: number;
}

export interface CertsView {
  app: string;
  certs: CertInfo[];
  uncovered: string[];
  auto: AutoStatus;
}

const seg = encodeURIComponent;
const api = {
  list: (c: ApiClient, app: string) => c.json<CertsView>("GET", `/apps/${seg(app)}/certs`),
  add: (c: ApiClient, app: string | null, cert: string, key: string) =>
    app === null
      ? c.json<{ cert: CertInfo; notCovered: string[] }>("PUT", "/certs/default", { cert, key })
      : c.json<{ cert: CertInfo; notCovered: string[] }>("POST", `/apps/${seg(app)}/certs`, { cert, key }),
  remove: (c: ApiClient, app: string, id: string) =>
    c.json<{ removed: CertInfo[] }>("DELETE", `/apps/${seg(app)}/certs/${seg(id)}`),
  auto: (c: ApiClient, app: string, on: boolean) =>
    c.json<{ domains?: string[]; auto: AutoStatus }>(on ? "PUT" : "DELETE", `/apps/${seg(app)}/certs/auto`),
};

export function formatCerts(v: CertsView): string[] {
  const lines = [heading(`${v.app} Certificates`)];
  if (v.certs.length === 0)
    lines.push("No certificates. Add one with paas certs:add CERT KEY, or paas certs:auto.");
  else {
    lines.push(
      ...formatTable(
        ["Id", "Domains", "Expires", "Source", "Issuer"],
        v.certs.map((c) => [
          c.id,
          c.names.join(", "),
          `${c.notAfter.slice(0, 10)} (${c.daysLeft ?? "?"} days)`,
          c.source === "acme" ? "auto" : "manual",
          c.selfSigned ? "self-signed" : c.issuer.slice(0, 40),
        ]),
      ),
    );
  }
  if (v.uncovered.length > 0) lines.push("", `Not covered by any certificate: ${v.uncovered.join(", ")}`);
  const a = v.auto;
  lines.push("", heading("Automatic certificates (ACME)"));
  const pairs: [string, string][] = [["Status", a.enabled ? a.state : "off (paas certs:auto turns it on)"]];
  if (a.enabled && a.message) pairs.push(["Last result", a.message]);
  if (a.enabled && a.lastAttempt) pairs.push(["Last attempt", a.lastAttempt]);
  if (a.enabled && a.nextAttempt) pairs.push(["Next attempt", a.nextAttempt]);
  lines.push(...formatPairs(pairs));
  return lines;
}

function readPem(file: string, what: string): string {
  try {
    return fs.readFileSync(path.resolve(file), "utf8");
  } catch (err) {
    throw invalid(`cannot read the ${what} file ${file}: ${fileProblem(err)}`);
  }
}

export function registerCerts(program: Command, cli: Cli): void {
  withAppOption(program.command("certs"))
    .description("list the app's TLS certificates, their expiry dates and the ACME status")
    .option("--json", "print JSON")
    .action(async (opts) => {
      const v = await api.list(clientOf(cli), await appOf(cli, opts.app));
      if (opts.json) return cli.io.out(json(v));
      for (const line of formatCerts(v)) cli.io.out(line);
    });

  withAppOption(program.command("certs:add <cert-file> <key-file>"))
    .description("add a TLS certificate (PEM, chain allowed: leaf first) and its private key")
    .option("--default", "make it the platform's default certificate for *.<PAAS_DOMAIN> (admin)")
    .action(async (certFile: string, keyFile: string, opts) => {
      const cert = readPem(certFile, "certificate");
      const key = readPem(keyFile, "key");
      const app = opts.default ? null : await appOf(cli, opts.app);
      const client = clientOf(cli);
      const out = await progress(
        cli.io,
        `Adding the certificate to ${app ?? "the platform default"}`,
        () => api.add(client, app, cert, key),
        (r) => `done, ${r.cert.id}`,
      );
      cli.io.out(`Covers ${out.cert.names.join(", ")}; expires ${out.cert.notAfter.slice(0, 10)}.`);
      if (out.notCovered.length > 0) cli.io.out(`Warning: it does not cover ${out.notCovered.join(", ")}.`);
    });

  withAppOption(program.command("certs:remove [domain-or-id]"))
    .description("remove a certificate by id or by a domain it covers (the only one when not given)")
    .action(async (which: string | undefined, opts) => {
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      let id = which;
      if (id === undefined) {
        const { certs } = await api.list(client, app);
        if (certs.length !== 1) {
          throw new PaasError(
            "invalid_input",
            `${app} has ${certs.length} certificates: say which, by id or domain (paas certs lists them)`,
          );
        }
        id = certs[0].id;
      }
      const target = id;
      await progress(
        cli.io,
        `Removing certificate ${target} from ${app}`,
        () => api.remove(client, app, target),
        (r) => `done, ${r.removed.map((c) => c.id).join(", ")}`,
      );
    });

  const autoOn = (name: string, alias: string) =>
    withAppOption(program.command(name))
      .alias(alias)
      .description("obtain and renew certificates for the app's custom domains automatically (ACME)")
      .option("--wait", "wait until the first attempt has a result")
      .action(async (opts) => {
        const app = await appOf(cli, opts.app);
        const client = clientOf(cli);
        const r = await progress(cli.io, `Enabling automatic certificates for ${app}`, () =>
          api.auto(client, app, true),
        );
        cli.io.out(
          `Certificates for ${r.domains?.join(", ")} are on their way; paas certs shows the status.`,
        );
        if (opts.wait) await waitForAuto(cli, client, app);
      });
  autoOn("certs:auto", "letsencrypt:enable");

  withAppOption(program.command("certs:auto:disable"))
    .alias("letsencrypt:disable")
    .description("stop obtaining and renewing certificates automatically (existing ones stay)")
    .action(async (opts) => {
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      await progress(cli.io, `Disabling automatic certificates for ${app}`, () =>
        api.auto(client, app, false),
      );
    });
}

/** Poll until the renewer has a result for the app (bounded: 5 minutes). */
async function waitForAuto(cli: Cli, client: ApiClient, app: string): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const v = await api.list(client, app);
    if (v.auto.state === "ok") return cli.io.out(`Certificates issued: ${v.auto.message}`);
    if (v.auto.state === "failing")
      throw new PaasError("unavailable", `ACME failed for ${app}: ${v.auto.message}`);
    if (Date.now() > deadline)
      throw new PaasError("unavailable", `no ACME result for ${app} after 5 minutes; see paas certs`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
