import type Docker from "dockerode";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedFilter } from "../docker/labels.js";
import { messageOf } from "../errors.js";
import type { AppName } from "../names.js";
import type { Store } from "../store/index.js";
import { releaseTag } from "../store/releases.js";
import { limitsFor } from "../store/resources.js";
import type { Backend } from "../store/routes.js";
import { unreadyIds } from "../store/unready.js";
import { containerName, slotsFor } from "./plan.js";
import { probePort } from "./readiness.js";
import { Retirer } from "./retire.js";
import type { Runtime } from "./runtime.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

/** What reconcile would change for one app: a pure comparison of wanted and found. */
export interface ReconcilePlan {
  remove: { id: string; why: string }[];
  start: { id: string; slot: string }[];
  create: { type: string; index: number }[];
}

export function planReconcile(
  wanted: { release: string | null; formation: Record<string, number> },
  found: Docker.ContainerInfo[],
): ReconcilePlan {
  const plan: ReconcilePlan = { remove: [], start: [], create: [] };
  const bySlot = new Map<string, Docker.ContainerInfo[]>();
  for (const c of found) {
    const type = c.Labels[LABEL.process] ?? "";
    const index = Number(c.Labels[LABEL.instance] ?? 0);
    const slotKey = `${type}.${index}`;
    if (!wanted.release || c.Labels[LABEL.release] !== wanted.release) {
      plan.remove.push({
        id: c.Id,
        why: `${slotKey} belongs to ${c.Labels[LABEL.release] ?? "no release"}, not the current one`,
      });
      continue;
    }
    if (index < 1 || index > (wanted.formation[type] ?? 0)) {
      plan.remove.push({ id: c.Id, why: `${slotKey} is beyond the formation` });
      continue;
    }
    bySlot.set(slotKey, [...(bySlot.get(slotKey) ?? []), c]);
  }
  for (const [slotKey, list] of bySlot) {
    // Keep the running one (or the first); extra containers for one slot are strays.
    const sorted = [...list].sort((a, b) => Number(b.State === "running") - Number(a.State === "running"));
    for (const extra of sorted.slice(1))
      plan.remove.push({ id: extra.Id, why: `stray duplicate of ${slotKey}` });
    const keep = sorted[0];
    if (keep.State === "exited" || keep.State === "created") plan.start.push({ id: keep.Id, slot: slotKey });
  }
  if (wanted.release) {
    for (const slot of slotsFor(wanted.formation)) {
      if (!bySlot.has(`${slot.type}.${slot.index}`)) plan.create.push(slot);
    }
  }
  return plan;
}

/**
 * Keeps what runs equal to what was asked: on start, periodically, and whenever Docker
 * reports an app container died or started (also after dockerd restarts), it compares the
 * wanted formation with the containers found by label, fixes the difference under the
 * app's lock, and points the route at the web containers that answer.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private events: NodeJS.ReadableStream | null = null;
  private stopped = false;
  private pending = new Map<string, NodeJS.Timeout>();
  private readonly retirer: Retirer;

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly runtime: Runtime,
    private readonly log: Log,
  ) {
    this.retirer = new Retirer(settings, store, docker, log);
  }

  start(): void {
    void this.all();
    this.timer = setInterval(() => void this.all(), this.settings.reconcileInterval * 1000);
    void this.watchEvents();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pending.values()) clearTimeout(t);
    this.retirer.close();
    (this.events as unknown as { destroy?: () => void } | null)?.destroy?.();
  }

  async all(): Promise<void> {
    try {
      const apps = await this.store.apps.list();
      for (const app of apps) await this.app(app);
      await this.removeOrphanApps();
      await this.runtime.reconcilePlugins(this.log);
    } catch (err) {
      this.log("reconcile failed", { level: "error", error: messageOf(err) });
    }
  }

  /** Reconcile one app; skipped (not waited for) while a deploy or scale holds its lock. */
  async app(app: AppName): Promise<ReconcilePlan | null> {
    try {
      return await this.store.lock.withLock(app, () => this.fix(app), 2_000);
    } catch (err) {
      this.log("reconcile skipped", { app, reason: messageOf(err) });
      return null;
    }
  }

  private async fix(app: AppName): Promise<ReconcilePlan> {
    const record = await this.store.apps.get(app);
    if (!record) {
      // A deleted app: its containers go, and it gets no route back.
      await this.removeOrphanApps();
      await this.store.retiring.forget(app);
      return { remove: [], start: [], create: [] };
    }
    const release = record?.release ? await this.store.releases.get(app, record.release) : null;
    const formation = await this.store.formation.get(app);
    // Draining containers (an earlier deploy's old ones) are left alone until their
    // deadline; the sweep stops the ones that are due.
    const draining = await this.retirer.sweep(app);
    const all = await this.docker.containers.list(
      ownedFilter(this.settings.namespace, app, [`${LABEL.kind}=app`]),
    );
    const found = all.filter((c) => !draining.has(c.Id));
    if (found.length < all.length) {
      this.log("reconcile left draining containers alone until their deadline", {
        app,
        draining: all.length - found.length,
      });
    }
    const plan = planReconcile(
      { release: release?.image ? releaseTag(release.version) : null, formation },
      found,
    );
    for (const r of plan.remove) {
      await this.docker.containers.remove(r.id);
      this.log("reconcile removed a container", { app, why: r.why });
    }
    for (const s of plan.start) {
      try {
        await this.docker.containers.start(s.id);
        this.log("reconcile restarted a stopped container", { app, slot: s.slot });
      } catch (err) {
        this.log("reconcile could not restart a stopped container", {
          app,
          slot: s.slot,
          error: messageOf(err),
        });
      }
    }
    if (release?.image) {
      for (const slot of plan.create) {
        const name = containerName(this.settings.namespace, app, slot);
        const limits = limitsFor(await this.store.resources.get(app), slot.type, {
          memory: this.settings.defaultMemory,
        });
        await this.runtime.startSlot(app, release, slot, name, limits);
        this.log("reconcile started a missing container", { app, slot: `${slot.type}.${slot.index}` });
      }
    }
    await this.syncRoute(
      app,
      release?.port ?? 5000,
      plan.create.length > 0 || plan.start.length > 0,
      draining,
    );
    return plan;
  }

  /** Route = running web containers of the app that accept connections. */
  private async syncRoute(
    app: AppName,
    port: number,
    waitForNew: boolean,
    draining: ReadonlySet<string>,
  ): Promise<void> {
    const deadline = Date.now() + (waitForNew ? this.settings.startTimeout * 1000 : 0);
    for (;;) {
      const list = await this.docker.containers.list(
        ownedFilter(this.settings.namespace, app, [`${LABEL.kind}=app`, `${LABEL.process}=web`]),
      );
      // Containers failing their readiness checks stay out (the health monitor's call).
      const unready = await unreadyIds(this.store, app);
      const backends: Backend[] = [];
      let missing = 0;
      for (const c of list) {
        if (unready.has(c.Id)) continue;
        if (draining.has(c.Id)) continue;
        const p = c.Ports.find((x) => x.PrivatePort === port && x.PublicPort);
        if (c.State !== "running" || !p) {
          missing++;
          continue;
        }
        if (await probePort("127.0.0.1", p.PublicPort, 200)) {
          backends.push({ host: "127.0.0.1", port: p.PublicPort, id: c.Names[0]?.replace(/^\//, "") });
        } else missing++;
      }
      const current = await this.store.routes.get(app);
      const key = (bs: Backend[]) =>
        bs
          .map((b) => `${b.host}:${b.port}`)
          .sort()
          .join(",");
      // Reconcile runs under the lock, so never inside a deploy's watch window: a standby
      // list left here is from a deploy that died, and goes.
      if (!current || key(current.backends) !== key(backends) || (current.standby?.length ?? 0) > 0) {
        await this.store.routes.setBackends(app, backends, []);
        this.log("reconcile updated the route", { app, backends: backends.length });
      }
      if (missing === 0 || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async removeOrphanApps(): Promise<void> {
    const all = await this.docker.containers.list(
      ownedFilter(this.settings.namespace, undefined, [`${LABEL.kind}=app`]),
    );
    // The app list is read after the containers: an app is listed before its first container
    // is made, so a container of an app created (or renamed to) during a pass is never taken
    // for a deleted app's, as it was with the list read at the pass's start.
    const apps = new Set<string>(await this.store.apps.list());
    for (const c of all) {
      const app = c.Labels[LABEL.app];
      if (app && !apps.has(app)) {
        await this.docker.containers.remove(c.Id);
        this.log("reconcile removed a container of a deleted app", { app });
      }
    }
  }

  /** Docker's event stream: a container died or started -> reconcile its app soon. */
  private async watchEvents(): Promise<void> {
    let backoff = 1000;
    let lost = false;
    while (!this.stopped) {
      try {
        const stream = (await this.docker.raw.getEvents({
          filters: JSON.stringify({
            type: ["container"],
            event: ["die", "start", "destroy"],
            label: [
              `${LABEL.managed}=true`,
              `${LABEL.namespace}=${this.settings.namespace}`,
              `${LABEL.kind}=app`,
            ],
          }),
        })) as NodeJS.ReadableStream;
        this.events = stream;
        backoff = 1000;
        if (lost) this.log("following Docker events again");
        lost = false;
        // After (re)connecting, dockerd may have restarted: check everything.
        void this.all();
        await new Promise<void>((resolve) => {
          let buf = "";
          stream.on("data", (chunk: Buffer) => {
            buf += chunk.toString("utf8");
            let nl = buf.indexOf("\n");
            while (nl >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              nl = buf.indexOf("\n");
              try {
                const ev = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
                const app = ev.Actor?.Attributes?.[LABEL.app];
                if (app) this.soon(app as AppName);
              } catch {
                // A partial or foreign line: ignore.
              }
            }
          });
          stream.on("end", () => resolve());
          stream.on("error", (err) => {
            if (!this.stopped) this.log("Docker event stream failed", { error: messageOf(err) });
            resolve();
          });
          stream.on("close", () => resolve());
        });
      } catch (err) {
        // dockerd is down: say so once, and retry with backoff.
        if (!lost && !this.stopped)
          this.log("cannot follow Docker events; retrying", { error: messageOf(err) });
        lost = true;
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 15_000);
    }
  }

  private soon(app: AppName): void {
    if (this.stopped || this.pending.has(app)) return;
    this.pending.set(
      app,
      setTimeout(() => {
        this.pending.delete(app);
        void this.app(app);
      }, 1000),
    );
  }
}
