import fs from "node:fs";
import type { Settings } from "../config.js";
import { inspectPair } from "../domains/certs.js";
import { messageOf } from "../errors.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import { AcmeRenewer } from "./acme.js";

// What the router role runs once per server process besides its listeners (which run in
// every router worker): the platform default certificate from PAAS_TLS_CERT/PAAS_TLS_KEY,
// and the ACME renewer (one renews at a time across all processes: a lease in Redis).

export async function startTlsRole(
  settings: Settings,
  store: Store,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const log = logger.child("tls");
  if (settings.httpsPort === null) return { close: async () => {} };
  if (settings.tlsCertFile && settings.tlsKeyFile) await installDefaultCert(settings, store, log);
  const renewer = new AcmeRenewer({
    directory: settings.acmeDirectory,
    email: settings.acmeEmail,
    acme: store.acme,
    certs: store.certs,
    domains: store.domains,
    log,
  });
  renewer.start();
  return { close: () => renewer.stop() };
}

/** Store the files' certificate as the platform default unless it already is. */
async function installDefaultCert(
  settings: Settings,
  store: Store,
  log: (msg: string, ctx?: Record<string, unknown>) => void,
): Promise<void> {
  const chain = fs.readFileSync(settings.tlsCertFile!, "utf8");
  const key = fs.readFileSync(settings.tlsKeyFile!, "utf8");
  let facts: ReturnType<typeof inspectPair>;
  try {
    facts = inspectPair(chain, key);
  } catch (err) {
    throw new Error(`PAAS_TLS_CERT/PAAS_TLS_KEY: ${messageOf(err)}`);
  }
  const current = await store.certs.getDefault();
  if (current?.fingerprint === facts.fingerprint) return;
  await store.certs.put({ ...facts, app: null, source: "manual", chain, key });
  log("platform default certificate installed", { names: facts.names, notAfter: facts.notAfter });
}
