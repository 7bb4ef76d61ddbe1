import acme from "acme-client";
import { inspectPair, uncovered } from "../domains/certs.js";
import { messageOf } from "../errors.js";
import type { AcmeStore } from "../store/acme.js";
import type { CertsStore } from "../store/certs.js";
import type { DomainsStore } from "../store/domains.js";

// Automatic certificates (`paas certs:auto`). Every router process runs a renewer, but only
// the one holding the lease in Redis works at a time: it finds apps whose custom domains
// lack a certificate valid for more than 30 days, orders one from the ACME directory, and
// stores it; every router picks it up through the certificate change feed. HTTP-01
// answers go to Redis, so whichever router the CA reaches answers (front.ts).
//
// Wildcard names need DNS-01, which is not built: a ChallengeSolver for "dns-01" (a DNS
// provider's API) is where it would go; wildcard domains are skipped and said so.

type LogFn = (msg: string, ctx?: Record<string, unknown>) => void;

/** One way of proving control of a name to the CA. */
export interface ChallengeSolver {
  type: "http-01" | "dns-01";
  /** Can this solver prove this name? (HTTP-01 cannot do wildcards.) */
  handles(name: string): boolean;
  create(token: string, keyAuthorization: string, name: string): Promise<void>;
  remove(token: string, name: string): Promise<void>;
}

export function http01Solver(store: AcmeStore): ChallengeSolver {
  return {
    type: "http-01",
    handles: (name) => !name.startsWith("*."),
    create: (token, keyAuthorization) => store.putChallenge(token, keyAuthorization),
    remove: (token) => store.removeChallenge(token),
  };
}

export interface RenewerOptions {
  directory: string;
  email: string | null;
  acme: AcmeStore;
  certs: CertsStore;
  domains: DomainsStore;
  log?: LogFn;
  /** How often the renewer looks for work (default 5s: enabling shows results quickly). */
  everyMs?: number;
  /** Renew when a certificate has fewer days left than this (default 30). */
  renewDays?: number;
  now?: () => Date;
  solvers?: ChallengeSolver[];
}

const LEASE_MS = 120_000;
const DAY = 86_400_000;

/** Wait after the n-th failure in a row: 1 min, 2, 4 ... up to 6 h (Let's Encrypt rate limits). */
export function backoffMs(failures: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, failures - 1), 6 * 3_600_000);
}

/** The names of an app that need a certificate now (none valid for renewDays more). */
export function namesDue(
  domains: readonly string[],
  certs: readonly { names: string[]; notAfter: string }[],
  now: Date,
  renewDays: number,
): string[] {
  const fresh = certs.filter((c) => Date.parse(c.notAfter) - now.getTime() > renewDays * DAY);
  return uncovered(
    fresh.flatMap((c) => c.names),
    domains,
  );
}

export class AcmeRenewer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly log: LogFn;
  private readonly now: () => Date;
  private readonly solvers: ChallengeSolver[];

  constructor(private readonly opts: RenewerOptions) {
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => new Date());
    this.solvers = opts.solvers ?? [http01Solver(opts.acme)];
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running ??= this.tick()
        .catch((err) => this.log(`ACME renewer pass failed: ${messageOf(err)}`))
        .finally(() => {
          this.running = null;
        });
      this.timer = setTimeout(tick, this.opts.everyMs ?? 5_000);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: take the lease, or leave the work to whoever holds it. */
  async tick(): Promise<void> {
    const apps = await this.opts.acme.enabledApps();
    if (apps.length === 0) return;
    const lease = await this.opts.acme.takeLease(LEASE_MS);
    if (!lease) return;
    const keepAlive = setInterval(() => void lease.renew().catch(() => {}), LEASE_MS / 3);
    try {
      for (const app of apps) {
        if (this.stopped) break;
        await this.renewApp(app);
      }
    } finally {
      clearInterval(keepAlive);
      await lease.release();
    }
  }

  private async renewApp(app: string): Promise<void> {
    const { acme: store, certs, domains } = this.opts;
    const status = await store.status(app);
    if (!status.enabled) return;
    const now = this.now();
    if (status.nextAttempt && Date.parse(status.nextAttempt) > now.getTime()) return;
    const all = await domains.list(app);
    const provable = all.filter((d) => this.solvers.some((s) => s.handles(d)));
    const skipped = all.filter((d) => !provable.includes(d));
    if (provable.length === 0) {
      const message =
        "no custom domain ACME can verify: add one with paas domains:add (wildcards need DNS-01)";
      if (status.message !== message) await store.setStatus(app, { state: "failing", message });
      return;
    }
    const due = namesDue(provable, await certs.list(app), now, this.opts.renewDays ?? 30);
    if (due.length === 0) {
      if (status.state !== "ok") {
        await store.setStatus(app, {
          state: "ok",
          message: certifiedMessage(provable, skipped),
          nextAttempt: null,
        });
      }
      return;
    }
    // One certificate for all the app's provable names: renewing replaces it whole.
    await store.setStatus(app, { lastAttempt: now.toISOString() });
    try {
      const { cert, key } = await this.order(provable);
      const facts = inspectPair(cert, key, now);
      const stored = await certs.put({ ...facts, app, source: "acme", chain: cert, key }, now);
      for (const old of await certs.list(app)) {
        if (old.source === "acme" && old.id !== stored.id) await certs.remove(app, old.id).catch(() => {});
      }
      await store.setStatus(app, {
        state: "ok",
        message: `${certifiedMessage(provable, skipped)}; expires ${facts.notAfter.slice(0, 10)}`,
        failures: 0,
        nextAttempt: null,
      });
      this.log("ACME certificate issued", { app, names: provable, notAfter: facts.notAfter });
    } catch (err) {
      const failures = status.failures + 1;
      const next = new Date(now.getTime() + backoffMs(failures));
      const message = oneLine(messageOf(err));
      await store.setStatus(app, { state: "failing", message, failures, nextAttempt: next.toISOString() });
      this.log(
        `ACME order for ${app} failed (${failures} in a row), next try ${next.toISOString()}: ${message}`,
        {
          app,
        },
      );
    }
  }

  private async order(names: string[]): Promise<{ cert: string; key: string }> {
    const { directory, email } = this.opts;
    await checkDirectory(directory);
    const accountKey = await this.opts.acme.accountKey(directory, async () =>
      (await acme.crypto.createPrivateEcdsaKey("P-256")).toString(),
    );
    const client = new acme.Client({
      directoryUrl: directory,
      accountKey,
      backoffAttempts: 10,
      backoffMax: 5_000,
    });
    const [key, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names });
    const byType = new Map(this.solvers.map((s) => [s.type, s]));
    const cert = await client.auto({
      csr,
      email: email ?? undefined,
      termsOfServiceAgreed: true,
      challengePriority: this.solvers.map((s) => s.type),
      // acme-client's own pre-check fetches http://<name>/ on port 80 from here, which says
      // nothing about what the CA sees (and fails behind NAT or on other ports): the CA checks.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        await byType
          .get(challenge.type as ChallengeSolver["type"])
          ?.create(challenge.token, keyAuthorization, authz.identifier.value);
      },
      challengeRemoveFn: async (authz, challenge) => {
        await byType
          .get(challenge.type as ChallengeSolver["type"])
          ?.remove(challenge.token, authz.identifier.value);
      },
    });
    return { cert, key: key.toString() };
  }
}

/**
 * Fail fast and clearly when the directory cannot be read: acme-client retries unreachable
 * servers for half a minute and then reports an unrelated TypeError.
 */
async function checkDirectory(url: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(`cannot reach the ACME directory ${url}: ${cause ?? messageOf(err)}`);
  }
  await res.body?.cancel();
  if (!res.ok) throw new Error(`the ACME directory ${url} answered ${res.status}`);
}

function certifiedMessage(names: string[], skipped: string[]): string {
  const base = `certificate for ${names.join(", ")}`;
  return skipped.length === 0
    ? base
    : `${base} (skipped ${skipped.join(", ")}: wildcards need DNS-01, not supported)`;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").slice(0, 300);
}
