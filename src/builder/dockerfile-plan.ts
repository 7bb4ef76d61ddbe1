// Pure rewriting of a user's Dockerfile so its RUN steps see the platform's build-time CA
// bundle (TLS-intercepting proxies, private CAs). The bundle is copied into each stage and
// exposed through ARGs, which RUN steps see as environment variables but which do not
// persist into the runtime image's environment.

export const BUILD_DIR = ".paas-build";
export const CA_IN_CONTEXT = `${BUILD_DIR}/ca-bundle.crt`;
export const CA_IN_IMAGE = "/usr/local/share/paas/build-ca-bundle.crt";

const CA_VARS = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "CURL_CA_BUNDLE",
  "REQUESTS_CA_BUNDLE",
  "PIP_CERT",
  "GIT_SSL_CAINFO",
  "CARGO_HTTP_CAINFO",
];

export function caInjection(): string[] {
  return [`COPY ${CA_IN_CONTEXT} ${CA_IN_IMAGE}`, ...CA_VARS.map((v) => `ARG ${v}=${CA_IN_IMAGE}`)];
}

/**
 * Insert the CA lines after every FROM instruction (following line continuations). A line
 * counts as an instruction only when it starts one: not inside a continued instruction,
 * nor inside a heredoc body (RUN <<EOF ... EOF).
 */
export function injectBuildCa(dockerfile: string): string {
  const lines = dockerfile.split(/\r?\n/);
  const out: string[] = [];
  let continued = false;
  let inFrom = false;
  let heredocEnd: string | null = null;
  for (const line of lines) {
    out.push(line);
    if (heredocEnd !== null) {
      if (line.trim() === heredocEnd) heredocEnd = null;
      continue;
    }
    const startsInstruction = !continued && !/^\s*(#|$)/.test(line);
    if (startsInstruction && /^\s*FROM\s/i.test(line)) inFrom = true;
    const heredoc =
      startsInstruction || continued ? /<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?/.exec(line) : null;
    continued = /\\\s*$/.test(line);
    if (inFrom && !continued) {
      inFrom = false;
      out.push(...caInjection());
    }
    if (heredoc && !continued) heredocEnd = heredoc[1];
  }
  return out.join("\n");
}

/**
 * A filter for the builder's output that hides the steps the platform added (the CA steps
 * injectBuildCa put in `generated`, and the LABEL steps Docker appends for the build's
 * `labels`) and numbers the rest as the app's Dockerfile has them ("Step 2/3", not
 * "Step 10/19"). Returns the line to show, or null. One per build.
 */
export function userStepFilter(
  generated: string,
  labels: Record<string, string> = {},
): (line: string) => string | null {
  const ca = new Set(caInjection());
  const added = new Set([...ca, ...Object.entries(labels).map(([k, v]) => `LABEL ${k}=${v}`)]);
  const addedTotal = generated.split(/\r?\n/).filter((l) => ca.has(l)).length + Object.keys(labels).length;
  let hidden = 0;
  let hiding = false;
  return (line) => {
    const step = /^(\s*)Step (\d+)\/(\d+) : (.*?)(\s*)$/.exec(line);
    if (!step) return hiding && !/^\s*Successfully /.test(line) ? null : line;
    const [, indent, n, total, instruction] = step;
    if (added.has(instruction)) {
      hidden++;
      hiding = true;
      return null;
    }
    hiding = false;
    return `${indent}Step ${Number(n) - hidden}/${Number(total) - addedTotal} : ${instruction}`;
  };
}

/** Proxy settings as build args (Docker predefines these ARG names). */
export function proxyBuildArgs(p: {
  http: string | null;
  https: string | null;
  no: string | null;
}): Record<string, string> {
  const args: Record<string, string> = {};
  if (p.http) Object.assign(args, { HTTP_PROXY: p.http, http_proxy: p.http });
  if (p.https) Object.assign(args, { HTTPS_PROXY: p.https, https_proxy: p.https });
  if (p.no) Object.assign(args, { NO_PROXY: p.no, no_proxy: p.no });
  return args;
}

/** First exposed TCP port of an image config, else the Heroku-ish default 5000. */
export function portFromExposed(
  exposed: Record<string, unknown> | undefined | null,
  fallback = 5000,
): number {
  const ports = Object.keys(exposed ?? {})
    .filter((p) => p.endsWith("/tcp") || !p.includes("/"))
    .map((p) => Number.parseInt(p, 10))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
  return ports[0] ?? fallback;
}
