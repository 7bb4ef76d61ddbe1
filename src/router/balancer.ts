import type { Backend, RouteEntry } from "../store/routes.js";

export const backendKey = (b: Backend): string => `${b.host}:${b.port}`;

/** Failures in a row (refused, reset, connect timeout) after which a backend is ejected. */
export const EJECT_AFTER = 3;

/**
 * Round robin per app with two kinds of passive health:
 * - a backend that refused or reset a connection is *marked down* for a few seconds: a
 *   hint, passed over while another backend is untried, but still tried when it is the
 *   only one left, because a refused connection costs a millisecond while a needless 503
 *   costs a user;
 * - a backend that failed EJECT_AFTER times in a row is *ejected* for a cooldown: not tried
 *   at all until the cooldown ends. With every backend ejected, pick() answers null and the
 *   client gets a 503 at once instead of a wait on a dead app.
 * One success clears both. State is per router process (each worker learns on its own).
 */
export class Balancer {
  private readonly next = new Map<string, number>();
  private readonly downUntil = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly ejectedUntil = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly cooldownMs = 10_000,
  ) {}

  /** Next backend for the app, never one in `tried` (host:port keys); null when none is left. */
  pick(entry: RouteEntry, tried?: ReadonlySet<string>): Backend | null {
    const { backends } = entry;
    const n = backends.length;
    if (n === 0) return null;
    const start = (this.next.get(entry.app) ?? 0) % n;
    let fallback = -1;
    for (let i = 0; i < n; i++) {
      const idx = (start + i) % n;
      const b = backends[idx];
      if (tried?.has(backendKey(b))) continue;
      if (this.ejectedUntil.size > 0 && this.isEjected(b)) continue;
      if (!this.isDown(b)) return this.take(entry.app, idx, n, b);
      if (fallback === -1) fallback = idx;
    }
    return fallback === -1 ? null : this.take(entry.app, fallback, n, backends[fallback]);
  }

  /** Every backend of the app is ejected: nothing healthy is left. */
  allEjected(entry: RouteEntry): boolean {
    if (this.ejectedUntil.size === 0 || entry.backends.length === 0) return false;
    return entry.backends.every((b) => this.isEjected(b));
  }

  markDown(backend: Backend, ms: number): void {
    this.downUntil.set(backendKey(backend), this.now() + ms);
  }

  /** One more failure in a row; true when it got the backend ejected. */
  failed(backend: Backend): boolean {
    const key = backendKey(backend);
    const count = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, count);
    if (count < EJECT_AFTER) return false;
    this.failures.delete(key);
    this.ejectedUntil.set(key, this.now() + this.cooldownMs);
    return true;
  }

  /** The backend answered: it is healthy again. Cheap when nothing was failing. */
  succeeded(backend: Backend): void {
    if (this.failures.size === 0 && this.downUntil.size === 0) return;
    const key = backendKey(backend);
    this.failures.delete(key);
    this.downUntil.delete(key);
  }

  isDown(backend: Backend): boolean {
    if (this.downUntil.size === 0) return false;
    const key = backendKey(backend);
    const until = this.downUntil.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.downUntil.delete(key);
    return false;
  }

  isEjected(backend: Backend): boolean {
    const key = backendKey(backend);
    const until = this.ejectedUntil.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.ejectedUntil.delete(key);
    return false;
  }

  /** host:port of every backend marked down or ejected right now (for /metrics). */
  unhealthy(): Set<string> {
    const out = new Set<string>();
    const now = this.now();
    for (const [k, until] of this.downUntil) if (until > now) out.add(k);
    for (const [k, until] of this.ejectedUntil) if (until > now) out.add(k);
    return out;
  }

  /** Drop an app's position, e.g. when the app is removed. */
  forget(app: string): void {
    this.next.delete(app);
  }

  private take(app: string, idx: number, n: number, b: Backend): Backend {
    this.next.set(app, (idx + 1) % n);
    return b;
  }
}
