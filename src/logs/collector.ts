import crypto from "node:crypto";
import { engineId } from "../docker/host.js";
import type { DockerParts } from "../docker/index.js";
import { LABEL, ownedFilter } from "../docker/labels.js";
import type { DockerEvent, StatsSample } from "../docker/streams.js";
import { messageOf } from "../errors.js";
import type { LogFn } from "../log.js";
import type { Store } from "../store/index.js";
import { Lease } from "../store/lease.js";
import { dockerSince, dockerTsKey, fromDockerTs } from "./line.js";
import type { StreamWriter } from "./writer.js";

/** Container kinds whose output belongs in the app's stream (not builds). */
const KINDS = new Set(["app", "oneoff", "release-phase"]);
/** The engine's lease: renewed every REFRESH_MS, lapses (another worker takes over) after LEASE_MS. */
const LEASE_MS = 10_000;
const REFRESH_MS = 2_000;

interface Attached {
  app: string;
  process: string;
  stop: () => void;
  stopStats?: () => void;
}

/** Who a container is, from its labels and environment. */
interface Who {
  app: string;
  process: string;
  name: string;
  command: string;
  tty: boolean;
  running: boolean;
  restarts: number;
}

/**
 * One per Docker engine (worker role): follows the platform's app and one-off containers as
 * they come and go, copies their output into each app's stream with Docker's timestamps,
 * adds `paas[web.1]` lines for what happens to them, and publishes their live stats.
 * Position per container is stored with the lines, so a restart resumes where it stopped.
 * Workers sharing an engine (several on one host, or one per node of a swarm whatever its
 * role) take a lease per engine ID in Redis: one follows it, the others stand by and take
 * over from the stored positions when its lease lapses.
 */
export class Collector {
  private attached = new Map<string, Attached>();
  private stopEvents: (() => void) | null = null;
  private stopped = false;
  private died = new Set<string>();
  private stopping = new Map<string, string>();
  private samples = new Map<string, { app: string; process: string; name: string; s: StatsSample }>();
  private statsTimer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** Last Docker timestamp read per container: ahead of the stored one until the writer flushes. */
  private lastTs = new Map<string, string>();
  /** Current name of containers renamed since attach (deploys rename into the slot's name). */
  private names = new Map<string, string>();
  /** One-offs read from their creation on: their start must not follow them a second time. */
  private oneOffs = new Set<string>();
  /** Holding this engine's lease and following it. */
  private active = false;
  private lease: Lease | null = null;
  private readonly holder = crypto.randomUUID();
  private leadTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly namespace: string,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly writer: StreamWriter,
    private readonly log: LogFn,
  ) {}

  start(): void {
    void this.lead();
    this.statsTimer = setInterval(() => void this.publishStats(), 2000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.leadTimer) clearTimeout(this.leadTimer);
    await this.pause();
    // Handed over at once: a worker standing by on this engine resumes from the stored positions.
    if (this.lease) await this.lease.release().catch(() => {});
  }

  /** Follow this engine while holding its lease; stop following when another holds it. */
  private async lead(): Promise<void> {
    if (this.stopped) return;
    try {
      this.lease ??= new Lease(
        this.store.redis,
        this.store.keys.collectorLease(await engineId(this.docker.raw)),
        this.holder,
      );
      const held = await this.lease.take(LEASE_MS);
      if (held && !this.active && !this.stopped) {
        this.active = true;
        void this.watch();
      } else if (!held && this.active) {
        this.log("another worker follows this engine now: standing by");
        await this.pause();
      }
    } catch (err) {
      // Redis or the engine unreachable: keep what we do, ask again.
      this.log("collector lease failed, retrying", { level: "warn", error: messageOf(err) });
    }
    if (!this.stopped) this.leadTimer = setTimeout(() => void this.lead(), REFRESH_MS);
  }

  /** Stop following the engine (lease lost, or stopping); positions stay stored. */
  private async pause(): Promise<void> {
    this.active = false;
    this.stopEvents?.();
    this.stopEvents = null;
    for (const a of this.attached.values()) {
      a.stop();
      a.stopStats?.();
    }
    this.attached.clear();
    this.samples.clear();
    // Another collector may move the stored positions on: read them again on resuming.
    this.lastTs.clear();
    this.oneOffs.clear();
    await this.writer.flush();
  }

  private async watch(): Promise<void> {
    let backoff = 500;
    while (!this.stopped && this.active) {
      const ended = new Promise<void>((resolve) => {
        this.docker.streams
          .events(
            { type: ["container"], ...ownedFilter(this.namespace) },
            // One at a time, in Docker's order: a fast container's start, exit and removal
            // must not overtake each other.
            (e) => {
              this.queue = this.queue
                .then(() => this.onEvent(e))
                .catch((err) => this.log("collector event failed", { error: messageOf(err) }));
            },
            () => resolve(),
          )
          .then((stop) => {
            if (!this.active) {
              stop();
              resolve();
              return;
            }
            this.stopEvents = stop;
            backoff = 500;
            // After (re)connecting: pick up what runs, and what ran while we were away.
            void this.attachAll();
          })
          .catch(() => resolve());
      });
      await ended;
      if (this.stopped || !this.active) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private async attachAll(): Promise<void> {
    try {
      const list = await this.docker.containers.list(ownedFilter(this.namespace));
      for (const c of list) {
        if (!KINDS.has(c.Labels[LABEL.kind] ?? "")) continue;
        await this.attach(c.Id);
      }
    } catch (err) {
      this.log("collector could not list containers", { error: messageOf(err) });
    }
  }

  private async onEvent(e: DockerEvent): Promise<void> {
    const a = e.attributes;
    if (!this.active) return;
    if (!KINDS.has(a[LABEL.kind] ?? "") || !a[LABEL.app]) return;
    const app = a[LABEL.app];
    const action = e.Action;
    if (action === "create" && a[LABEL.kind] !== "app") {
      // One-offs (release phase, paas run) may be gone a moment after they exit: read them
      // from their creation on.
      await this.attachOneOff(e.id);
    } else if (action === "start") {
      const who = await this.who(e.id);
      if (!who) return;
      if (this.died.has(e.id) || who.restarts > 0) this.writer.emit(app, who.process, "Restarting");
      this.died.delete(e.id);
      this.writer.emit(app, who.process, `Starting process with command \`${who.command}\``);
      this.writer.emit(app, who.process, "State changed from starting to up");
      // A one-off seen at its creation is already read (and may have ended by now: following
      // it again from Docker's start would repeat its lines).
      if (!this.oneOffs.has(e.id)) await this.attach(e.id, who);
    } else if (action === "kill") {
      const sig = Number(a.signal);
      const name = sig === 9 ? "SIGKILL" : sig === 15 ? "SIGTERM" : a.signal ? `signal ${a.signal}` : "";
      if (!name) return;
      const proc = this.attached.get(e.id)?.process ?? dynoOf(a);
      this.stopping.set(e.id, name);
      this.writer.emit(app, proc, `Stopping (${name})`);
    } else if (action === "die") {
      const proc = this.attached.get(e.id)?.process ?? dynoOf(a);
      const status = Number(a.exitCode ?? 0);
      this.writer.emit(app, proc, `Process exited with status ${status}`);
      const wasStopped = this.stopping.has(e.id);
      this.stopping.delete(e.id);
      if (status !== 0 && !wasStopped && a[LABEL.kind] === "app") {
        this.writer.emit(app, proc, "State changed from up to crashed");
        this.died.add(e.id);
      }
    } else if (action === "rename") {
      // A deploy starts `app.web.1.v3` and renames it to its slot `app.web.1`: ps matches
      // figures by the current name.
      const name = (a.name ?? "").replace(/^\//, "");
      const old = (a.oldName ?? "").replace(/^\//, "");
      if (!name) return;
      this.names.set(e.id, name);
      const sample = this.samples.get(e.id);
      if (sample) sample.name = name;
      if (old) await this.store.metrics.forget(app, old).catch(() => {});
    } else if (action === "destroy") {
      const att = this.attached.get(e.id);
      this.names.delete(e.id);
      this.oneOffs.delete(e.id);
      this.died.delete(e.id);
      this.stopping.delete(e.id);
      // Read to the end first (the follow stream ends by itself), then forget the cursor.
      setTimeout(() => {
        if (!this.attached.has(e.id)) {
          this.lastTs.delete(e.id);
          void this.store.logs.forgetCursor(e.id).catch(() => {});
        }
        const name = figuresName(a, a.name ?? "");
        if (name) void this.store.metrics.forget(app, name).catch(() => {});
      }, 5000).unref();
      if (att) this.samples.delete(e.id);
    }
  }

  private async who(id: string): Promise<Who | null> {
    const info = await this.docker.containers.inspect(id);
    if (!info) return null;
    const labels = info.Config.Labels ?? {};
    const env = info.Config.Env ?? [];
    const dyno = env.find((v) => v.startsWith("DYNO="))?.slice(5);
    const cmd = info.Config.Cmd ?? [];
    return {
      app: labels[LABEL.app] ?? "",
      process: dyno || dynoOf(labels),
      name: figuresName(labels, info.Name),
      command: (cmd[0] === "/bin/sh" && cmd[1] === "-c" ? cmd.slice(2) : cmd).join(" "),
      tty: Boolean(info.Config.Tty),
      running: Boolean(info.State.Running),
      restarts: info.RestartCount ?? 0,
    };
  }

  /** Follow one container's output from the stored cursor on; idempotent. */
  private async attach(id: string, known?: Who): Promise<void> {
    if (this.stopped || !this.active || this.attached.has(id)) return;
    // Claim the slot before any await, so two events cannot attach twice.
    const entry: Attached = { app: "", process: "", stop: () => {} };
    this.attached.set(id, entry);
    try {
      const who = known ?? (await this.who(id));
      if (!who?.app) {
        this.attached.delete(id);
        return;
      }
      entry.app = who.app;
      entry.process = who.process;
      // A follow that ended (log rotation, a restart) resumes from what this process read.
      const cursor = this.lastTs.get(id) ?? (await this.store.logs.cursor(id));
      const since = cursor ? dockerSince(cursor) : null;
      let newest = cursor ? dockerTsKey(cursor) : "";
      entry.stop = await this.docker.streams.logs(
        id,
        { since: since ?? undefined, follow: true, tty: who.tty },
        (ts, text) => {
          // A container's lines come in time order. Anything not newer than the newest seen is
          // a repeat: `since` is inclusive, and Docker's follow replays lines when the
          // json-file log rotates under it.
          const key = dockerTsKey(ts);
          if (key <= newest) return;
          newest = key;
          this.writer.write(who.app, "app", who.process, text, fromDockerTs(ts) ?? undefined);
          this.writer.cursor(id, ts);
          this.lastTs.set(id, ts);
        },
        () => void this.detached(id),
      );
      if (who.running) await this.watchStats(id, entry, who);
    } catch (err) {
      this.attached.delete(id);
      this.log("collector could not follow a container", {
        container: id.slice(0, 12),
        error: messageOf(err),
      });
    }
  }

  /** A one-off's output from its creation on, stamped as it arrives; the cursor follows it. */
  private async attachOneOff(id: string): Promise<void> {
    if (this.stopped || !this.active || this.attached.has(id)) return;
    const entry: Attached = { app: "", process: "", stop: () => {} };
    this.attached.set(id, entry);
    try {
      const who = await this.who(id);
      if (!who?.app) {
        this.attached.delete(id);
        return;
      }
      entry.app = who.app;
      entry.process = who.process;
      entry.stop = await this.docker.streams.attach(
        id,
        who.tty,
        (text) => {
          this.writer.write(who.app, "app", who.process, text);
          // Docker's form, so a collector restart resumes this one-off from about here.
          this.writer.cursor(id, new Date().toISOString());
        },
        () => {
          this.attached.delete(id);
          this.samples.delete(id);
          entry.stopStats?.();
          void this.finishedOneOff(id);
        },
      );
      this.oneOffs.add(id);
    } catch (err) {
      this.attached.delete(id);
      this.log("collector could not attach to a one-off", {
        container: id.slice(0, 12),
        error: messageOf(err),
      });
    }
  }

  /**
   * A one-off's output ended with it (one-offs never restart): its cursor goes past every line
   * Docker stamped for it. The cursor kept while reading is this clock to the millisecond, and
   * Docker's stamp of the last lines can fall later in that millisecond: a restarted collector,
   * going over the kept containers, read them again.
   */
  private async finishedOneOff(id: string): Promise<void> {
    if (this.stopped || !this.active) return;
    const info = await this.docker.containers.inspect(id).catch(() => null);
    if (!info || info.State.Running) return;
    this.writer.cursor(id, new Date(Date.now() + 1000).toISOString());
  }

  /** A follow stream ended: the container stopped, or restarted in the meantime. */
  private async detached(id: string): Promise<void> {
    const entry = this.attached.get(id);
    entry?.stopStats?.();
    this.attached.delete(id);
    this.samples.delete(id);
    if (this.stopped || !this.active) return;
    const info = await this.docker.containers.inspect(id).catch(() => null);
    if (info?.State.Running) {
      await new Promise((r) => setTimeout(r, 200));
      await this.attach(id);
    }
  }

  private async watchStats(id: string, entry: Attached, who: Who): Promise<void> {
    entry.stopStats = await this.docker.streams.stats(
      id,
      (s) =>
        this.samples.set(id, { app: who.app, process: who.process, name: this.names.get(id) ?? who.name, s }),
      () => this.samples.delete(id),
    );
  }

  private async publishStats(): Promise<void> {
    const at = new Date().toISOString();
    const list = [...this.samples.values()].map((x) => ({
      app: x.app,
      m: {
        container: x.name,
        process: x.process,
        cpuPercent: Math.round(x.s.cpuPercent * 10) / 10,
        memoryBytes: x.s.memoryBytes,
        memoryLimitBytes: x.s.memoryLimitBytes,
        at,
      },
    }));
    await this.store.metrics.publish(list).catch(() => {});
  }
}

/** The name ps rows match figures by: the container's, or a swarm task's short ID (as paas ps shows it). */
function figuresName(labels: Record<string, string>, containerName: string): string {
  return labels["com.docker.swarm.task.id"]?.slice(0, 12) || containerName.replace(/^\//, "");
}

/** web.1 from the process and instance labels (run.3 for one-offs). */
function dynoOf(labels: Record<string, string>): string {
  const type = labels[LABEL.process] ?? "run";
  // Swarm tasks (swarm scheduler): the slot is in the task name, <service>.<slot>.<task id>.
  const n = labels[LABEL.instance] ?? labels["com.docker.swarm.task.name"]?.split(".")[1];
  return n ? `${type}.${n}` : type;
}
