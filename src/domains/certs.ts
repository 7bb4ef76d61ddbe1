import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { invalid } from "../errors.js";
import { certCovers } from "./names.js";

// What the platform needs to know about a certificate a user hands it, checked once when it
// is added: the leaf (first) certificate matches the key, is not expired, and which names
// it covers. The chain after the leaf is passed to clients as given.

export interface CertFacts {
  /** DNS names the leaf covers (subjectAltName, else the subject CN), lower-case. */
  names: string[];
  notBefore: string;
  notAfter: string;
  issuer: string;
  subject: string;
  /** SHA-256 fingerprint of the leaf, hex without colons: also the certificate's id. */
  fingerprint: string;
  selfSigned: boolean;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_PEM = 64 * 1024;

/** The certificates of a PEM bundle, leaf first. */
export function splitChain(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

/** Check a certificate (chain allowed) and its private key; throws invalid() naming what is wrong. */
export function inspectPair(certPem: string, keyPem: string, now = new Date()): CertFacts {
  if (typeof certPem !== "string" || typeof keyPem !== "string" || certPem === "" || keyPem === "") {
    throw invalid("give a certificate and its private key, both PEM: paas certs:add CERT_FILE KEY_FILE");
  }
  if (certPem.length > MAX_PEM || keyPem.length > MAX_PEM) throw invalid("certificate or key is over 64 KiB");
  const blocks = splitChain(certPem);
  if (blocks.length === 0)
    throw invalid("the certificate file has no PEM certificate (-----BEGIN CERTIFICATE-----)");
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch {
    throw invalid("the certificate file holds a PEM block that is not a readable X.509 certificate");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw invalid("the key file is not a readable, unencrypted PEM private key");
  }
  const leaf = chain[0];
  if (!leaf.checkPrivateKey(key)) {
    throw invalid("the private key does not match the certificate (the first one in the file)");
  }
  for (let i = 1; i < chain.length; i++) {
    if (!chain[i - 1].checkIssued(chain[i])) {
      throw invalid(
        `certificate ${i + 1} in the file did not issue certificate ${i}: put the chain in order, leaf first`,
      );
    }
  }
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw invalid(`the certificate expired on ${notAfter.toISOString()}: renew it first`);
  }
  return {
    names: certNames(leaf),
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    issuer: leaf.issuer.replace(/\n/g, ", "),
    subject: leaf.subject.replace(/\n/g, ", "),
    fingerprint: leaf.fingerprint256.replace(/:/g, "").toLowerCase(),
    selfSigned: leaf.checkIssued(leaf),
  };
}

/** subjectAltName DNS names, else the subject's CN. */
export function certNames(cert: X509Certificate): string[] {
  const names = (cert.subjectAltName ?? "")
    .split(/,\s*/)
    .filter((part) => part.startsWith("DNS:"))
    .map((part) => part.slice(4).toLowerCase());
  if (names.length > 0) return [...new Set(names)];
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** The domains none of the certificate's names cover. */
export function uncovered(certNamesList: readonly string[], domains: readonly string[]): string[] {
  return domains.filter((d) => !certNamesList.some((n) => certCovers(n, d)));
}
