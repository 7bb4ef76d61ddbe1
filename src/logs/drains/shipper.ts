import crypto from "node:crypto";
import type { Redis } from "ioredis";
import { messageOf } from "../../errors.js";
import type { LogFn } from "../../log.js";
import type { Store } from "../../store/index.js";
import { fromFields } from "../line.js";
import { Drain, type DrainOptions } from "./drain.js";
import { parseDrainUrl } from "./url.js";

/** Stats of the operator's platform-wide drains are kept under this pseudo-app. */
export const PLATFORM = "*";
const LEASE_MS = 10_000;
const REFRESH_MS = 2_000;

/**
 * Reads every drained app's stream and hands each line to each of its drains. One shipper
 * is active across the platform (a lease in Redis, renewed; another worker takes over when
 * it lapses), and its position per app is stored, so a restart ships neither gaps nor
 * much twice. Drains buffer and retry on their own; this loop never waits for them.
 */
export class DrainShipper {
  private readonly holder = crypto.randomUUID();
  private drains = new Map<string, Drain>();
  /** app -> drains that get its lines (with the syslog host each uses) */
  private routes = new Map<string, { drain: Drain; host: string; statsApp: string }[]>();
  private cursors = new Map<string, string>();
  /** Number of the last backlog line read per app (see log-stream.ts). */
  private seq = new Map<string, number>();
  private stopped = false;
  private conn: Redis | null = null;
  private done: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly platformDrains: string[],
    private readonly log: LogFn,
    private readonly drainOptions: DrainOptions = {},
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.conn?.disconnect();
    await this.done;
  }

  private async run(): Promise<void> {
    let lastRefresh = 0;
    let leader = false;
    while (!this.stopped) {
      try {
        if (Date.now() - lastRefresh >= REFRESH_MS) {
          lastRefresh = Date.now();
          leader = await this.store.drains.lease(this.holder, LEASE_MS);
          if (leader) {
            await this.refresh();
            await this.report();
          } else this.closeAll();
        }
        if (!leader || this.routes.size === 0) {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        await this.shipOnce();
      } catch (err) {
        if (this.stopped) break;
        this.log("drain shipper failed, retrying", { level: "warn", error: messageOf(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await this.report().catch(() => {});
    this.closeAll();
    await this.store.drains.release(this.holder).catch(() => {});
  }

  private async shipOnce(): Promise<void> {
    if (!this.conn) {
      this.conn = this.store.redis.duplicate();
      this.conn.on("error", () => {});
    }
    const ids = new Map<string, string>();
    for (const app of this.routes.keys()) ids.set(app, this.cursors.get(app) ?? "$");
    const got = await this.store.logs.read(this.conn, ids, 500, 2000, "drain");
    for (const { app, entries } of got) {
      const targets = this.routes.get(app) ?? [];
      for (const [id, fields] of entries) {
        // Lines the backlog lost (the shipper fell further behind than it keeps) count as dropped.
        const n = Number(fields[fields.length - 1]);
        const last = this.seq.get(app);
        if (last !== undefined && n > last + 1) for (const t of targets) t.drain.lost(n - last - 1);
        if (n) this.seq.set(app, n);
        const line = fromFields(id, fields);
        for (const t of targets) t.drain.push(line, t.host);
      }
      if (entries.length > 0) this.cursors.set(app, entries[entries.length - 1][0]);
    }
  }

  /** Re-read which apps have drains; open new drains, close removed ones. */
  private async refresh(): Promise<void> {
    const apps = await this.store.apps.list();
    const wanted = new Map<string, { url: string; token: string; host: string; statsApp: string }[]>();
    for (const app of apps) {
      const list = (await this.store.drains.list(app)).map((d) => ({
        url: d.url,
        token: d.token,
        host: d.token,
        statsApp: app as string,
      }));
      for (const url of this.platformDrains)
        list.push({ url, token: "platform", host: app, statsApp: PLATFORM });
      if (list.length > 0) wanted.set(app, list);
    }
    // From now on (and while we keep saying so) their lines also go to their drain backlogs.
    await this.store.logs.markDrained([...wanted.keys()], LEASE_MS);
    const keep = new Set<string>();
    const routes = new Map<string, { drain: Drain; host: string; statsApp: string }[]>();
    for (const [app, list] of wanted) {
      const targets: { drain: Drain; host: string; statsApp: string }[] = [];
      for (const d of list) {
        const key = `${d.statsApp} ${d.url}`;
        keep.add(key);
        let drain = this.drains.get(key);
        if (!drain) {
          const target = parseDrainUrl(d.url);
          if ("error" in target) continue;
          drain = new Drain(target, d.token, this.drainOptions);
          this.drains.set(key, drain);
        }
        targets.push({ drain, host: d.host, statsApp: d.statsApp });
      }
      routes.set(app, targets);
      if (!this.cursors.has(app)) {
        const saved = (await this.store.drains.cursors())[app];
        this.cursors.set(app, saved ?? (await this.store.logs.lastId(app, "drain")));
      }
    }
    for (const [key, drain] of this.drains) {
      if (!keep.has(key)) {
        drain.close();
        this.drains.delete(key);
      }
    }
    this.routes = routes;
    for (const app of this.cursors.keys()) {
      if (routes.has(app)) continue;
      this.cursors.delete(app);
      await this.store.logs.dropBacklog(app);
    }
  }

  /** Delivery counters to Redis (for `paas drains`), and the position per app. */
  private async report(): Promise<void> {
    const updates = [...this.drains].map(([key, drain]) => {
      const sp = key.indexOf(" ");
      const c = drain.take();
      return { app: key.slice(0, sp), url: key.slice(sp + 1), ...c };
    });
    await this.store.drains.record(updates.filter((u) => u.delivered || u.dropped || u.error));
    await this.store.drains.saveCursors(this.cursors);
  }

  private closeAll(): void {
    for (const d of this.drains.values()) d.close();
    this.drains.clear();
    this.routes.clear();
    this.conn?.disconnect();
    this.conn = null;
  }
}
