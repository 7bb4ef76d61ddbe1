import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeWorkers } from "../helpers/node-workers.js";
import { Platform, type Result, ROOT } from "../helpers/platform.js";
import { SwarmCluster } from "../helpers/swarm-cluster.js";
import { sleep } from "../helpers/swarm-engine.js";

// `paas run` in swarm mode on 3 nodes: the API (here with no worker role) puts the run in
// Redis for the node it is placed on (`ps:placement run node.hostname==...`), and that node's
// worker (`paas server --roles worker` with DOCKER_HOST at that node's engine) creates the
// container on its engine and relays stdin, output, resizes and the exit status through
// Redis. The test looks for the container on the node's own engine, and checks that it goes.

const CLI = path.join(ROOT, "dist/cli/main.js");

/** Poll `check` until it returns a value (not undefined); bounded. */
async function until<T>(what: () => string, check: () => Promise<T | undefined>, tries = 60, everyMs = 500) {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what()}`);
}

/** A process on a pseudo-terminal (util-linux `script`), driven like a user at a keyboard. */
class Pty {
  output = "";
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(command: string, env: NodeJS.ProcessEnv) {
    this.child = spawn("script", ["-qefc", command, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
    const add = (d: Buffer) => {
      this.output += d.toString("utf8");
    };
    this.child.stdout!.on("data", add);
    this.child.stderr!.on("data", add);
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code ?? -1)));
  }

  send(keys: string): void {
    this.child.stdin!.write(keys);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }

  waitFor(pattern: RegExp): Promise<true> {
    return until(
      () => `${pattern} in the terminal:\n${this.output}`,
      async () => (pattern.test(this.output) ? true : undefined),
      120,
      250,
    );
  }
}

describe("paas run in swarm mode, through the node's worker", () => {
  const cluster = new SwarmCluster();
  const engine = cluster.manager;
  const p = new Platform();
  const app = `swr-${Date.now().toString(36)}`;
  let repo = "";
  const nodeWorkers = new NodeWorkers(() => p.ns);

  /** The CLI against the app with `input` on stdin (then EOF). */
  const runWithInput = (args: string[], input: string) =>
    new Promise<Result>((resolve) => {
      const child = spawn(process.execPath, [CLI, "run", "-a", app, ...args], { cwd: p.home, env: p.env() });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input);
    });

  /** The app's one-off containers on one node's engine. */
  const oneOffsOn = (docker: Docker) =>
    docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`paas.namespace=${p.ns}`, `paas.app=${app}`, "paas.kind=oneoff"] }),
    });
  const place = async (constraint: string) => {
    const res = await p.cli(["ps:placement", "run", constraint, "--app", app]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
  };

  beforeAll(async () => {
    await cluster.start(["paas/busybox:latest", "paas/debian:bookworm"], 2);
    const common = {
      PAAS_SCHEDULER: "swarm",
      PAAS_REDIS_URL: engine.redisUrl,
      PAAS_SCAN_POLICY: "off",
      PAAS_SECRET_KEY: crypto.randomBytes(32).toString("base64"),
      PAAS_REGISTRY: engine.registry,
    };
    await p.start({ ...common, PAAS_ROLES: "api,git", DOCKER_HOST: `unix://${engine.socket}` });
    expect((await p.cli(["login", "--api", p.apiUrl, "--token", p.token])).code).toBe(0);
    // The manager's worker (builds, deploys, and the manager node's one-offs)...
    await engine.startWorker(p.ns, {
      ...common,
      PAAS_DOMAIN: "paas.test",
      PAAS_START_TIMEOUT: "60",
      PAAS_DRAIN_SECONDS: "2",
      PAAS_CHECK_UPTIME: "1",
      PAAS_STOP_TIMEOUT: "3",
      PAAS_REGISTRY_CONFIG: engine.registryConfig,
    });
    // ...and one worker per worker node, each on its node's engine.
    for (const w of cluster.workers)
      await nodeWorkers.start(w.name, `${w.dir}/docker.sock`, common, "taking one-offs for this node");
    repo = await p.fixtureRepo("dockerfile-hello");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await nodeWorkers.stopAll();
    await p.stop().catch(() => {});
    await cluster.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  }, 120_000);

  it("runs on the node its placement names, on the app's overlay, listed in ps, and the container goes after", async () => {
    const node = cluster.workers[0];
    await place(`node.hostname==${node.name}`);
    // The command waits for a line on stdin, so the test can see it where it runs; then it asks
    // the web service by its overlay alias (nc: the base image's wget crashes).
    const child = spawn(
      process.execPath,
      [
        CLI,
        "run",
        "--no-tty",
        "-a",
        app,
        "--",
        `read x; echo "got $x dyno=$DYNO"; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 ${app}-web $PORT; exit 0`,
      ],
      { cwd: p.home, env: p.env() },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
    const here = await until(
      () => `the one-off on ${node.name}: ${stderr}`,
      async () => {
        const list = await oneOffsOn(node.docker);
        return list.some((c) => c.State === "running") ? list : undefined;
      },
    );
    // Not on the other nodes.
    expect(await oneOffsOn(cluster.workers[1].docker)).toHaveLength(0);
    expect(await oneOffsOn(engine.docker)).toHaveLength(0);
    const dyno = `run.${here[0].Labels["paas.instance"]}`;
    // `paas ps` lists it with its node (published by that node's worker).
    const listed = await until(
      () => `${dyno} in paas ps`,
      async () => {
        const ps = JSON.parse((await p.cli(["ps", "--json", "--app", app])).stdout) as {
          name: string;
          node?: string;
        }[];
        return ps.find((x) => x.name === dyno);
      },
    );
    expect(listed.node).toBe(node.name);
    child.stdin.end("hello\n");
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain(`got hello dyno=${dyno}`);
    // The app's web task answered over the overlay network, from whatever node it runs on.
    expect(stdout, stderr).toContain("hello from dockerfile-hello");
    await until(
      () => `the one-off container gone from ${node.name}`,
      async () => ((await oneOffsOn(node.docker)).length === 0 ? true : undefined),
    );
  });

  it("brings back a non-zero exit code with stdout and stderr apart, and forwards stdin to its end", async () => {
    const failing = await runWithInput(
      ["--no-tty", "--", "sh -c 'echo to-out; echo to-err >&2; exit 3'"],
      "",
    );
    expect(failing.code).toBe(3);
    expect(failing.stdout).toBe("to-out\n");
    expect(failing.stderr).toBe("to-err\n");
    const input = await runWithInput(["--no-tty", "--", "cat; echo end-of-input"], "line one\nline two\n");
    expect(input.code, input.stderr).toBe(0);
    expect(input.stdout).toBe("line one\nline two\nend-of-input\n");
  });

  it("runs a shell on a pseudo-terminal: size, echo, Ctrl-C and the exit code", async () => {
    const term = new Pty(
      `stty cols 101 rows 31; ${process.execPath} ${CLI} run -a ${app} -- sh`,
      p.env({ TERM: "xterm" }),
    );
    await term.waitFor(/# /);
    term.send("tty; stty size; echo sum-$((6*7))\r");
    await term.waitFor(/sum-42/);
    expect(term.output).toContain("/dev/pts/");
    expect(term.output).toContain("31 101");
    term.send("sleep 100\r");
    await term.waitFor(/sleep 100/);
    term.send("\x03");
    term.send("echo after-ctrl-c\r");
    await term.waitFor(/\r?\nafter-ctrl-c/);
    term.send("exit 7\r");
    expect(await term.exited).toBe(7);
  });

  it("with a TTY: the window size follows the terminal through the relay, and Ctrl-D ends the shell with 0", async () => {
    const flag = path.join(os.tmpdir(), `paas-swarm-resize-${process.pid}-${Date.now()}`);
    // The CLI runs in the background of the pty's shell so the test can resize that pty
    // (stty on it signals SIGWINCH to the CLI); the pty stays its stdin through fd 3.
    const term = new Pty(
      `stty cols 100 rows 30; exec 3<&0; ${process.execPath} ${CLI} run -a ${app} -- sh <&3 & pid=$!; while [ ! -e ${flag} ]; do sleep 0.2; done; stty cols 77 rows 22; wait $pid`,
      p.env({ TERM: "xterm" }),
    );
    try {
      await term.waitFor(/# /);
      term.send("stty size\r");
      await term.waitFor(/30 100/);
      await fsp.writeFile(flag, "");
      await until(
        () => `the container to see the new size:\n${term.output}`,
        async () => {
          term.send("stty size\r");
          await sleep(300);
          return term.output.includes("22 77") ? true : undefined;
        },
        30,
        200,
      );
      term.send("\x04");
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
      await fsp.rm(flag, { force: true });
    }
  });

  it("--detach starts it on the node and its output reaches paas logs through that node's collector", async () => {
    const node = cluster.workers[0];
    const res = await p.cli(["run", "--detach", "-a", app, "--", "echo detached-output-$DYNO"]);
    expect(res.code, res.stderr).toBe(0);
    const dyno = /run\.\d+/.exec(res.stdout + res.stderr)?.[0];
    expect(dyno, res.stdout + res.stderr).toBeTruthy();
    const found = await until(
      () => `the detached ${dyno} on ${node.name}`,
      async () => {
        const list = await oneOffsOn(node.docker);
        return list.find((c) => `run.${c.Labels["paas.instance"]}` === dyno);
      },
    );
    expect(found.Labels["paas.oneoff"]).toBe("detached");
    await until(
      () => `app[${dyno}] in paas logs`,
      async () => {
        const logs = (await p.cli(["logs", "-n", "200", "--app", app])).stdout;
        return logs.includes(`app[${dyno}]: detached-output-${dyno}`) ? true : undefined;
      },
    );
  });

  it("a client that goes away takes its container with it", async () => {
    const node = cluster.workers[0];
    const child = spawn(process.execPath, [CLI, "run", "--no-tty", "-a", app, "--", "sleep 300"], {
      cwd: p.home,
      env: p.env(),
      stdio: ["pipe", "ignore", "ignore"],
    });
    await until(
      () => `sleep 300 running on ${node.name}`,
      async () =>
        (await oneOffsOn(node.docker)).some((c) => c.State === "running" && c.Command.includes("sleep 300"))
          ? true
          : undefined,
    );
    child.kill("SIGKILL");
    await until(
      () => `the abandoned one-off removed from ${node.name}`,
      async () =>
        (await oneOffsOn(node.docker)).some((c) => c.Command.includes("sleep 300")) ? undefined : true,
    );
  });

  it("a node worker that dies mid-run ends the session with a clear error; a node without a worker is refused", async () => {
    const node = cluster.workers[1];
    const worker = nodeWorkers.all[1];
    await place(`node.hostname==${node.name}`);
    const child = spawn(process.execPath, [CLI, "run", "--no-tty", "-a", app, "--", "sleep 300"], {
      cwd: p.home,
      env: p.env(),
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
    await until(
      () => `sleep 300 running on ${node.name}`,
      async () => ((await oneOffsOn(node.docker)).some((c) => c.State === "running") ? true : undefined),
    );
    const t0 = Date.now();
    worker.child.kill("SIGKILL");
    const code = await exited;
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `swarm run: the node's worker died mid-run; the client was told after ${seconds.toFixed(1)}s`,
    );
    expect(code).not.toBe(0);
    expect(stderr).toContain(`the worker on node ${node.name} stopped answering`);
    // The heartbeat lapses: the node has no live worker, and a run placed there is refused.
    const refused = await until(
      () => "a refusal naming the node",
      async () => {
        const r = await runWithInput(["--no-tty", "--", "true"], "");
        return r.code !== 0 && r.stderr.includes("no paas worker is running on node") ? r : undefined;
      },
      30,
      1000,
    );
    expect(refused.stderr).toContain(node.name);
    expect(refused.stderr).toContain("paas server --roles worker");
    // The orphan is the node's to remove when a worker runs there again (the reaper).
    await fsp.rm(worker.dir, { recursive: true, force: true });
  });
});
