import type { Redis } from "ioredis";
import type { Settings } from "../../config.js";
import { swarmNode } from "../../docker/host.js";
import type { DockerParts } from "../../docker/index.js";
import { LABEL, ownedFilter } from "../../docker/labels.js";
import { isPaasError, messageOf } from "../../errors.js";
import type { LogFn } from "../../log.js";
import type { AppName } from "../../names.js";
import type { Store } from "../../store/index.js";
import { type NodeOneOff, type RelayRequest, RunRelayStore, WORKER_BEAT_MS } from "../../store/run-relay.js";
import type { OneOffs } from "../oneoff.js";
import { ONEOFF_LABEL } from "../oneoff-plan.js";
import { runClusterOp } from "../swarm/nodes.js";
import { RELAY_BEAT_MS, RELAY_SILENT_MS, RELAY_WINDOW } from "./relay-runner.js";
import { LocalRunner, type OutputTag, type RunHandle } from "./runner.js";

// The node's end of swarm mode's `paas run` (every `paas server --roles worker` in swarm
// mode runs one, on whatever node its engine is): it says it is there (a heartbeat by node
// id), publishes the nodes list when its engine is a manager and the one-offs running on its
// engine, takes the run requests placed on its node, and runs each as a container on its own
// engine (LocalRunner: the release's image, config, the services' overlay, labels, limits),
// relaying stdin, output, resizes, EOF and the exit status over the run's Redis streams.

export class RunRelayWorker {
  private readonly relay: RunRelayStore;
  private readonly runner: LocalRunner;
  private stopped = false;
  private beatTimer: NodeJS.Timeout | null = null;
  private conn: Redis | null = null;
  private node: { id: string; hostname: string; manager: boolean } | null = null;
  private readonly runs = new Set<NodeRun>();
  private lastReap = 0;

  constructor(
    private readonly settings: Settings,
    private readonly store: Store,
    private readonly docker: DockerParts,
    private readonly oneOffs: OneOffs,
    private readonly log: LogFn,
  ) {
    this.relay = new RunRelayStore(store.redis, store.keys);
    this.runner = new LocalRunner(oneOffs);
  }

  /** Find this engine's node (asked again until it answers), then beat and take runs. */
  start(): void {
    void this.begin();
  }

  private async begin(): Promise<void> {
    while (!this.stopped && !this.node) {
      try {
        this.node = await swarmNode(this.docker.raw);
        if (!this.node) {
          this.log("this engine is not in a swarm: it takes no one-offs", { level: "warn" });
          return;
        }
      } catch (err) {
        this.log("asking the engine for its swarm node failed, retrying", { error: messageOf(err) });
        await sleep(2_000);
      }
    }
    if (this.stopped || !this.node) return;
    this.log("taking one-offs for this node", { node: this.node.hostname });
    await this.beat();
    void this.take();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.beatTimer) clearTimeout(this.beatTimer);
    this.conn?.disconnect();
    await Promise.all([...this.runs].map((r) => r.abort("the node's worker is stopping", true)));
  }

  /** Heartbeat, nodes list (a manager's), this engine's one-offs; again every WORKER_BEAT_MS. */
  private async beat(): Promise<void> {
    const node = this.node;
    if (this.stopped || !node) return;
    try {
      await this.relay.beat({
        node: node.id,
        hostname: node.hostname,
        manager: node.manager,
        at: Date.now(),
      });
      if (node.manager) {
        const rows = (await runClusterOp(this.docker.services, { action: "list" })) as Awaited<
          ReturnType<RunRelayStore["nodes"]>
        >;
        await this.relay.publishNodes(rows ?? [], WORKER_BEAT_MS * 5);
      }
      await this.relay.publishOneOffs(node.id, await this.oneOffsHere(node.hostname), WORKER_BEAT_MS * 4);
      // One-offs whose holder died (or detached ones kept long enough) on this engine.
      if (Date.now() - this.lastReap > 60_000) {
        this.lastReap = Date.now();
        await this.oneOffs.reap();
      }
    } catch (err) {
      this.log("run heartbeat failed", { level: "warn", error: messageOf(err) });
    }
    if (!this.stopped) this.beatTimer = setTimeout(() => void this.beat(), WORKER_BEAT_MS);
  }

  private async oneOffsHere(hostname: string): Promise<NodeOneOff[]> {
    const list = await this.docker.containers.list(
      ownedFilter(this.settings.namespace, undefined, [`${LABEL.kind}=oneoff`]),
      false,
    );
    return list
      .filter((c) => c.State === "running" && c.Labels[ONEOFF_LABEL.mode])
      .map((c) => ({
        app: c.Labels[LABEL.app] ?? "",
        name: `${c.Labels[LABEL.process] ?? "run"}.${c.Labels[LABEL.instance] ?? "0"}`,
        command: c.Command,
        release: c.Labels[LABEL.release] ?? "",
        startedAt: new Date(c.Created * 1000).toISOString(),
        container: c.Id.slice(0, 12),
        node: hostname,
      }));
  }

  /** Take this node's run requests, one at a time off the list, each run on its own. */
  private async take(): Promise<void> {
    const node = this.node;
    if (!node) return;
    this.conn = this.relay.blockingConnection();
    while (!this.stopped) {
      let req: RelayRequest | null;
      try {
        req = await this.relay.takeRequest(this.conn, node.id, 2);
      } catch (err) {
        if (this.stopped) return;
        this.log("taking run requests failed, retrying", { level: "warn", error: messageOf(err) });
        await sleep(1_000);
        continue;
      }
      if (!req) continue;
      // The API stopped waiting for it: nobody would read its output.
      if (req.deadline < Date.now()) continue;
      const run = new NodeRun(this.relay, this.store, this.runner, req, node.hostname, this.log);
      this.runs.add(run);
      void run.go().finally(() => this.runs.delete(run));
    }
  }
}

/** One relayed run on this node. */
class NodeRun {
  private handle: RunHandle | null = null;
  private over = false;
  private beat: NodeJS.Timeout | null = null;
  private conn: Redis | null = null;
  private sent = 0;
  private acked = 0;
  private waiting: (() => void)[] = [];
  /** Output entries go out in order, one after another. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly relay: RunRelayStore,
    private readonly store: Store,
    private readonly runner: LocalRunner,
    private readonly req: RelayRequest,
    private readonly hostname: string,
    private readonly log: LogFn,
  ) {}

  private send(type: string, body?: { data?: Buffer; json?: Record<string, unknown> }): Promise<void> {
    this.chain = this.chain.then(() => this.relay.send(this.req.id, "out", type, body));
    return this.chain;
  }

  async go(): Promise<void> {
    const { req } = this;
    const app = req.app as AppName;
    // Beats from the start: pulling the image may take a while, and the API must know we are here.
    void this.send("beat").catch(() => {});
    this.beat = setInterval(
      () => void this.send("beat").catch(() => this.abort("Redis went away")),
      RELAY_BEAT_MS,
    );
    try {
      const release = await this.store.releases.get(app, req.release);
      if (!release?.image) throw new Error(`release v${req.release} of ${app} is gone`);
      if (req.mode === "detached") {
        const started = await this.runner.detached(app, req.run);
        this.log("one-off started", { app, dyno: started.dyno, node: this.hostname, detached: true });
        await this.send("started", { json: { dyno: started.dyno, node: this.hostname } });
        return;
      }
      this.handle = await this.runner.attach(app, { release }, req.run, {
        output: (tag, data) => this.output(tag, data),
      });
      if (this.over) {
        await this.handle.abort("the node's worker is stopping");
        return;
      }
      // What the API sent meanwhile (stdin, a close) waits in its stream until read from here.
      this.conn = this.relay.blockingConnection();
      const input = this.input();
      this.log("one-off started", { app, dyno: this.handle.dyno, node: this.hostname });
      await this.send("started", { json: { dyno: this.handle.dyno, node: this.hostname } });
      const code = await this.handle.exit;
      if (!this.over) await this.send("exit", { json: { code } });
      this.over = true;
      await input;
    } catch (err) {
      if (!this.over) {
        const json = isPaasError(err)
          ? { code: err.code, message: err.message }
          : {
              code: "internal",
              message: `the run could not start on node ${this.hostname}: ${messageOf(err)}`,
            };
        await this.send("error", { json }).catch(() => {});
      }
      this.over = true;
      await this.handle?.abort("failed");
    } finally {
      this.over = true;
      if (this.beat) clearInterval(this.beat);
      this.conn?.disconnect();
      for (const w of this.waiting.splice(0)) w();
    }
  }

  /** Output to the API, at most RELAY_WINDOW bytes ahead of what it acknowledged. */
  private output(tag: OutputTag, data: Buffer): Promise<void> | undefined {
    if (this.over) return undefined;
    this.sent += data.length;
    void this.send("out", { data, json: { tag } }).catch(() => void this.abort("Redis went away"));
    if (this.sent - this.acked <= RELAY_WINDOW) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** What the API sends: stdin, eof, resizes, acks, close, beats; its silence ends the run. */
  private async input(): Promise<void> {
    let after = "0";
    let heard = Date.now();
    while (!this.over && this.conn) {
      let msgs: Awaited<ReturnType<RunRelayStore["read"]>>;
      try {
        msgs = await this.relay.read(this.conn, this.req.id, "in", after, RELAY_BEAT_MS);
      } catch {
        if (this.over) return;
        msgs = [];
        await sleep(500);
      }
      if (msgs.length > 0) heard = Date.now();
      for (const m of msgs) {
        after = m.id;
        const h = this.handle;
        if (m.type === "close")
          return void (await this.abort(String(m.json?.reason ?? "the client went away")));
        if (m.type === "ack") {
          this.acked = Math.max(this.acked, Number(m.json?.bytes ?? 0));
          if (this.sent - this.acked <= RELAY_WINDOW) for (const w of this.waiting.splice(0)) w();
        }
        if (!h) continue;
        if (m.type === "stdin" && m.data) h.stdin(m.data);
        else if (m.type === "eof") h.eof();
        else if (m.type === "resize") h.resize(Number(m.json?.cols), Number(m.json?.rows));
      }
      if (Date.now() - heard > RELAY_SILENT_MS) {
        await this.abort("the API holding the client stopped answering");
        return;
      }
    }
  }

  /** End the run and remove its container; `tell`: the client hears why (not the one who asked). */
  async abort(reason: string, tell = false): Promise<void> {
    if (this.over) return;
    this.over = true;
    this.log("one-off removed", { app: this.req.app, dyno: this.handle?.dyno, reason });
    if (tell) {
      const message = `the run on node ${this.hostname} ended: ${reason}`;
      await this.send("error", { json: { code: "unavailable", message } }).catch(() => {});
    }
    for (const w of this.waiting.splice(0)) w();
    await this.handle?.abort(reason);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
