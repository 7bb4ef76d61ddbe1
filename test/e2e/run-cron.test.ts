import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Platform, REDIS_URL, type Result, ROOT } from "../helpers/platform.js";

// `paas run` (TTY through a real pseudo-terminal, pipes, --detach, a client that goes away)
// and app.json cron (a seconds schedule with forbid, one real every-minute run, two worker
// processes and a restarted one claiming each time once), against a real server.

const CLI = path.join(ROOT, "dist/cli/main.js");
const docker = new Docker();

interface CronJob {
  id: string;
  command: string;
  schedule: string;
  concurrencyPolicy: string;
  nextRun: string | null;
  lastRun: { scheduledAt: string; outcome: string; exitCode: number | null; dyno: string | null } | null;
}

/** Poll `check` until it returns a value (not undefined); bounded. */
async function until<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined>,
  tries = 60,
  everyMs = 1000,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
}

/** A process on a pseudo-terminal (util-linux `script`), driven like a user at a keyboard. */
class Pty {
  output = "";
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(command: string, env: NodeJS.ProcessEnv) {
    this.child = spawn("script", ["-qefc", command, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => {
      this.output += d.toString("utf8");
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.output += d.toString("utf8");
    });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code ?? -1)));
  }

  send(keys: string): void {
    this.child.stdin!.write(keys);
  }

  async waitFor(pattern: RegExp, tries = 60): Promise<void> {
    await until(
      () => `${pattern} in the terminal:\n${this.output}`,
      async () => (pattern.test(this.output) ? true : undefined),
      tries,
      250,
    );
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

describe("paas run and app.json cron", () => {
  const p = new Platform();
  const app = `runcron-${Date.now().toString(36)}`;
  let repo = "";
  let second: ChildProcess | null = null;
  let secondOutput = "";

  /** A second worker-only server on the same namespace: cron times must still run once. */
  const startSecondWorker = async () => {
    secondOutput = "";
    const child = spawn(process.execPath, [CLI, "server", "--roles", "worker"], {
      env: {
        ...process.env,
        PAAS_NAMESPACE: p.ns,
        PAAS_DATA_DIR: p.dataDir,
        PAAS_REDIS_URL: REDIS_URL,
        PAAS_DOMAIN: "paas.test",
        PAAS_STOP_TIMEOUT: "3",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d) => {
      secondOutput += d;
    });
    child.stderr!.on("data", (d) => {
      secondOutput += d;
    });
    second = child;
    await until(
      "the second worker to start",
      async () => (secondOutput.includes("paas is running") ? true : undefined),
      60,
      500,
    );
  };
  const stopSecondWorker = async () => {
    const child = second;
    second = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("exit", () => {
        clearTimeout(t);
        resolve();
      });
      child.kill("SIGTERM");
    });
  };

  /** The CLI against the app (-a right after the command, before any `--`). */
  const cli = (args: string[]) => p.cli([args[0], "-a", app, ...args.slice(1)]);
  /** The CLI with input on stdin (then EOF). */
  const cliWithInput = (args: string[], input: string) =>
    new Promise<Result>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: p.home, env: p.env() });
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
  const cronJobs = async (): Promise<CronJob[]> => {
    const res = await cli(["cron", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as CronJob[];
  };
  const oneOffContainers = async (labels: string[]) =>
    docker.listContainers({
      all: true,
      filters: JSON.stringify({
        label: [`paas.namespace=${p.ns}`, `paas.app=${app}`, "paas.kind=oneoff", ...labels],
      }),
    });
  const ptyRun = (prelude: string, runArgs: string) =>
    new Pty(`${prelude}${process.execPath} ${CLI} run -a ${app} ${runArgs}`, p.env({ TERM: "xterm" }));

  beforeAll(async () => {
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    await startSecondWorker();
    repo = await p.fixtureRepo("run-cron");
    const create = await p.cli(["apps:create", app], { cwd: repo });
    expect(create.code, create.stderr).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    expect(push.code, push.stdout + push.stderr).toBe(0);
  });

  afterAll(async () => {
    await stopSecondWorker();
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("without a TTY: stdout and stderr stay apart, --env and DYNO reach it, the exit code comes back", async () => {
    const res = await cliWithInput(
      ["run", "-a", app, "--env", "GREETING=hello", "--", "/app/task.sh", "3"],
      "",
    );
    expect(res.code).toBe(3);
    expect(res.stdout).toBe("to-stdout hello\n");
    expect(res.stderr).toBe("to-stderr\n");
    // stdin left open (as a test harness or cron leaves it): the command still ends the run.
    const dyno = await cli(["run", "--", "sh", "-c", "echo dyno=$DYNO port=$PORT"]);
    expect(dyno.code, dyno.stderr).toBe(0);
    expect(dyno.stdout).toMatch(/^dyno=run\.\d+ port=\d+\n$/);
  });

  it("without a TTY: stdin is forwarded and its end closes the command's stdin", async () => {
    const res = await cliWithInput(
      ["run", "--no-tty", "-a", app, "--", "cat; echo end-of-input"],
      "line one\nline two\n",
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe("line one\nline two\nend-of-input\n");
  });

  it("with a TTY: a shell in the container, the terminal's size, Ctrl-C, and the command's exit code", async () => {
    const term = ptyRun("stty cols 123 rows 45; ", "-- sh");
    await term.waitFor(/# /);
    term.send("tty; stty size; echo sum-$((6*7))\r");
    await term.waitFor(/sum-42/);
    expect(term.output).toContain("/dev/pts/");
    expect(term.output).toContain("45 123");
    // The typed line is echoed by the container's TTY, as a local shell would.
    expect(term.output).toContain("echo sum-$((6*7))");
    term.send("sleep 100\r");
    await term.waitFor(/sleep 100/);
    term.send("\x03");
    term.send("echo after-ctrl-c\r");
    await term.waitFor(/\r?\nafter-ctrl-c/);
    term.send("exit 7\r");
    expect(await term.exited).toBe(7);
  });

  it("with a TTY: the window size follows the terminal, and Ctrl-D ends the shell with 0", async () => {
    const flag = path.join(os.tmpdir(), `paas-resize-${process.pid}-${Date.now()}`);
    // The CLI runs in the background of the pty's shell so the test can resize that pty
    // (stty on it signals SIGWINCH to the CLI); the pty stays its stdin through fd 3.
    const term = ptyRun(
      "stty cols 100 rows 30; exec 3<&0; ",
      `-- sh <&3 & pid=$!; while [ ! -e ${flag} ]; do sleep 0.2; done; stty cols 77 rows 22; wait $pid`,
    );
    try {
      await term.waitFor(/# /);
      term.send("stty size\r");
      await term.waitFor(/30 100/);
      fs.writeFileSync(flag, "");
      await until(
        () => `the container to see the new size:\n${term.output}`,
        async () => {
          term.send("stty size\r");
          await new Promise((r) => setTimeout(r, 300));
          return term.output.includes("22 77") ? true : undefined;
        },
        30,
        200,
      );
      term.send("\x04");
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
      fs.rmSync(flag, { force: true });
    }
  });

  it("removes the container when the command ends, and when the client goes away", async () => {
    await until("attached one-offs to be removed after they ended", async () =>
      (await oneOffContainers(["paas.oneoff=attached"])).length === 0 ? true : undefined,
    );
    const child = spawn(process.execPath, [CLI, "run", "--no-tty", "-a", app, "--", "sleep 300"], {
      env: p.env(),
    });
    const running = await until("the one-off to run", async () => {
      const list = await oneOffContainers(["paas.oneoff=attached"]);
      return list.find((c) => c.State === "running");
    });
    expect(running.Labels["paas.process"]).toBe("run");
    const ps = JSON.parse((await cli(["ps", "--json"])).stdout) as {
      name: string;
      state: string;
      command: string;
    }[];
    expect(ps).toContainEqual(
      expect.objectContaining({
        name: `run.${running.Labels["paas.instance"]}`,
        state: "up",
        command: "sleep 300",
      }),
    );
    child.kill("SIGKILL");
    await until("the abandoned one-off to be removed", async () =>
      (await oneOffContainers(["paas.oneoff=attached"])).length === 0 ? true : undefined,
    );
  });

  it("--detach prints run.N; ps lists it while it runs and its output is in paas logs", async () => {
    const res = await cli([
      "run",
      "--detach",
      "--memory",
      "64m",
      "--",
      "echo detached-hello $DYNO; sleep 30",
    ]);
    expect(res.code, res.stderr).toBe(0);
    const dyno = res.stdout.trim();
    expect(dyno).toMatch(/^run\.\d+$/);
    const ps = JSON.parse((await cli(["ps", "--json"])).stdout) as { name: string; state: string }[];
    expect(ps).toContainEqual(expect.objectContaining({ name: dyno, state: "up" }));
    await until("the detached output in paas logs", async () => {
      const logs = await cli(["logs", "-n", "500"]);
      return logs.stdout.includes(`detached-hello ${dyno}`) ? true : undefined;
    });
    const [c] = await oneOffContainers(["paas.oneoff=detached", `paas.instance=${dyno.split(".")[1]}`]);
    const info = await docker.getContainer(c.Id).inspect();
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(info.HostConfig.RestartPolicy?.Name).toBe("no");
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(JSON.stringify(info.Mounts)).not.toContain("docker.sock");
    expect(info.HostConfig.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-file": "3", "max-size": "10m" },
    });
  });

  it("refuses bad input with one clear line and a non-zero exit", async () => {
    const none = await cli(["run"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("error: no command given");
    const env = await cli(["run", "--env", "NOVALUE", "--", "true"]);
    expect(env.code).not.toBe(0);
    expect(env.stderr).toContain('--env "NOVALUE" must look like KEY=VALUE');
    const memory = await cliWithInput(["run", "-a", app, "--memory", "lots", "--", "true"], "");
    expect(memory.code).not.toBe(0);
    expect(memory.stderr).toContain('memory "lots" must look like 256m');
    const empty = `${app}-empty`;
    expect((await p.cli(["apps:create", empty])).code).toBe(0);
    const norelease = await cliWithInput(["run", "-a", empty, "--", "true"], "");
    expect(norelease.code).not.toBe(0);
    expect(norelease.stderr).toContain(`${empty} has no release to run yet`);
    const badToken = await p.cli(["run", "-a", app, "--", "true"], {
      env: { PAAS_API_URL: p.apiUrl, PAAS_API_TOKEN: "paas_wrong" },
    });
    expect(badToken.code).not.toBe(0);
    expect(badToken.stderr).toMatch(/error: authentication required|error: invalid API token/);
    for (const r of [none, env, memory, norelease, badToken]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("cron: a seconds schedule with forbid skips while its previous run runs, each time runs once across two workers", async () => {
    const seen = new Set<string>();
    const job = await until(
      "forbid runs and skips",
      async () => {
        const j = (await cronJobs()).find((x) => x.concurrencyPolicy === "forbid");
        if (j?.lastRun) seen.add(j.lastRun.outcome);
        return seen.has("skipped") && seen.has("succeeded") ? j : undefined;
      },
      90,
    );
    expect(job?.schedule).toBe("*/3 * * * * *");
    const runs = await oneOffContainers([`paas.cron-job=${job!.id}`]);
    const times = runs.map((c) => c.Labels["paas.cron-time"]);
    expect(times.length).toBeGreaterThan(0);
    expect(new Set(times).size).toBe(times.length);
    const logs = await cli(["logs", "-n", "1000"]);
    expect(logs.stdout).toMatch(/app\[scheduler\.\d+\]: cron-forbid-started/);
  });

  it("cron: the every-minute job runs for real, logs, and a restarted worker does not run it twice", async () => {
    const job = await until(
      "the every-minute job to succeed",
      async () => {
        const j = (await cronJobs()).find((x) => x.schedule === "* * * * *");
        // Recent enough that a worker started now still looks back at it (60 s).
        const fresh = j?.lastRun && Date.now() - Date.parse(j.lastRun.scheduledAt) < 20_000;
        return j?.lastRun?.outcome === "succeeded" && fresh ? j : undefined;
      },
      150,
    );
    const last = job.lastRun!;
    expect(last.scheduledAt).toMatch(/:00\.000Z$/);
    expect(last.exitCode).toBe(0);
    expect(Date.parse(job.nextRun!)).toBeGreaterThan(Date.parse(last.scheduledAt));
    const logs = await cli(["logs", "-n", "1000"]);
    expect(logs.stdout).toContain(`cron-minute-ran on ${last.dyno}`);
    const table = await cli(["cron"]);
    expect(table.stdout).toContain("succeeded (exit 0");
    expect(table.stdout).toContain(job.id);

    // A worker that restarts looks back for missed times; this one was claimed, so it says so and leaves it.
    await stopSecondWorker();
    await startSecondWorker();
    await until("the restarted worker to pass over the claimed time", async () =>
      secondOutput.includes("not running it twice") && secondOutput.includes(last.scheduledAt)
        ? true
        : undefined,
    );
    const forTime = await oneOffContainers([`paas.cron-job=${job.id}`, `paas.cron-time=${last.scheduledAt}`]);
    expect(forTime).toHaveLength(1);
  });

  it("a push with a bad cron schedule fails, naming the entry", async () => {
    const bad = await p.fixtureRepo("run-cron", async (dir) => {
      await fsp.writeFile(
        path.join(dir, "app.json"),
        JSON.stringify({
          cron: [
            { command: "true", schedule: "@daily" },
            { command: "x", schedule: "61 * * * *" },
          ],
        }),
      );
    });
    try {
      const name = `${app}-bad`;
      expect((await p.cli(["apps:create", name], { cwd: bad })).code).toBe(0);
      const push = await p.git(["push", "paas", "main"], bad);
      expect(push.code).not.toBe(0);
      expect(push.stdout + push.stderr).toContain(
        'cron[1].schedule "61 * * * *" is not a valid cron expression',
      );
    } finally {
      await fsp.rm(bad, { recursive: true, force: true });
    }
  });
});
