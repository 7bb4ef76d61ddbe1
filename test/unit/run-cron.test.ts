import { describe, expect, it } from "vitest";
import { parseAppJson } from "../../src/app-json/app-json.js";
import {
  cronJobId,
  DEFAULT_CONCURRENCY_POLICY,
  dueTime,
  nextTime,
  parseCronEntries,
} from "../../src/app-json/cron-spec.js";
import { cronRows, describeLastRun } from "../../src/cli/commands/cron.js";
import { commandLine, parseEnvPairs } from "../../src/cli/run-session.js";
import {
  decodeData,
  encodeData,
  parseClientMessage,
  parseRunRequest,
  parseServerMessage,
  STDERR,
  STDIN,
  STDOUT,
} from "../../src/run-protocol.js";
import { dynoName, planOneOff, resolveCommand } from "../../src/runtime/oneoff-plan.js";
import type { Release } from "../../src/store/releases.js";

const MiB = 1024 * 1024;
const at = (iso: string) => new Date(iso);

describe("app.json cron entries", () => {
  it("reads Dokku's format with its default concurrency policy (allow)", () => {
    const jobs = parseCronEntries([
      { command: "python task.py", schedule: "@daily" },
      { command: "echo hi", schedule: "*/5  * * * *", concurrency_policy: "forbid", maintenance: true },
    ]);
    expect(DEFAULT_CONCURRENCY_POLICY).toBe("allow");
    expect(jobs).toEqual([
      {
        id: cronJobId("@daily", "python task.py"),
        command: "python task.py",
        schedule: "@daily",
        concurrencyPolicy: "allow",
        maintenance: false,
      },
      {
        id: cronJobId("*/5 * * * *", "echo hi"),
        command: "echo hi",
        schedule: "*/5 * * * *",
        concurrencyPolicy: "forbid",
        maintenance: true,
      },
    ]);
    expect(jobs[0].id).toMatch(/^[0-9a-f]{10}$/);
  });

  it("accepts every macro and a leading seconds field (the paas extension)", () => {
    for (const schedule of ["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight"])
      expect(parseCronEntries([{ command: "true", schedule }])).toHaveLength(1);
    expect(parseCronEntries([{ command: "true", schedule: "*/10 * * * * *" }])).toHaveLength(1);
  });

  it("rejects a bad entry with a message naming it", () => {
    const bad = (entries: unknown) => () => parseCronEntries(entries);
    expect(
      bad([
        { command: "a", schedule: "@daily" },
        { command: "b", schedule: "61 * * * *" },
      ]),
    ).toThrow(/cron\[1\]\.schedule "61 \* \* \* \*" is not a valid cron expression/);
    expect(bad([{ command: "a", schedule: "* * * *" }])).toThrow(
      /cron\[0\]\.schedule .* has 4 field\(s\); use five/,
    );
    expect(bad([{ command: "a", schedule: "@reboot" }])).toThrow(
      /cron\[0\]\.schedule "@reboot" is not a schedule/,
    );
    expect(bad([{ schedule: "@daily" }])).toThrow(/cron\[0\]\.command must be a non-empty command/);
    expect(bad([{ command: "a", schedule: "@daily", concurrency_policy: "queue" }])).toThrow(
      /cron\[0\]\.concurrency_policy must be one of allow, forbid, replace/,
    );
    expect(bad({ command: "a" })).toThrow(/cron must be a list/);
    expect(
      bad([
        { command: "a", schedule: "@daily" },
        { command: "a", schedule: "@daily" },
      ]),
    ).toThrow(/cron\[1\] repeats an earlier entry/);
  });

  it("is part of app.json, and a bad schedule fails the build naming the entry", () => {
    expect(parseAppJson(JSON.stringify({ cron: [{ command: "x", schedule: "@hourly" }] })).cron).toHaveLength(
      1,
    );
    expect(parseAppJson("{}").cron).toBeUndefined();
    expect(() => parseAppJson(JSON.stringify({ cron: [{ command: "x", schedule: "every day" }] }))).toThrow(
      /app\.json: cron\[0\]\.schedule/,
    );
  });
});

describe("when a job is due", () => {
  it("finds the time that passed since the last look, or none", () => {
    expect(dueTime("* * * * *", at("2026-01-01T00:00:30Z"), at("2026-01-01T00:00:59Z"))).toBeNull();
    expect(dueTime("* * * * *", at("2026-01-01T00:00:30Z"), at("2026-01-01T00:01:00Z"))?.toISOString()).toBe(
      "2026-01-01T00:01:00.000Z",
    );
    // A time exactly at the last look was handled then.
    expect(dueTime("* * * * *", at("2026-01-01T00:01:00Z"), at("2026-01-01T00:01:30Z"))).toBeNull();
  });

  it("collapses several missed times into one run, the newest", () => {
    expect(
      dueTime("*/5 * * * *", at("2026-01-01T00:00:00Z"), at("2026-01-01T00:31:00Z"))?.toISOString(),
    ).toBe("2026-01-01T00:30:00.000Z");
    expect(
      dueTime("*/2 * * * * *", at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:05Z"))?.toISOString(),
    ).toBe("2026-01-01T00:00:04.000Z");
  });

  it("gives the next run for paas cron", () => {
    expect(nextTime("@hourly", at("2026-01-01T10:15:00Z"))?.getMinutes()).toBe(0);
    expect(nextTime("0 1 * * *", at("2026-01-01T10:15:00"))?.getHours()).toBe(1);
  });
});

describe("the paas run wire protocol", () => {
  it("tags data frames with Docker's stream numbers", () => {
    const frame = encodeData(STDERR, Buffer.from("oops\n"));
    expect(frame[0]).toBe(2);
    expect(decodeData(frame)).toEqual({ tag: STDERR, data: Buffer.from("oops\n") });
    expect(decodeData(encodeData(STDIN, new Uint8Array()))).toEqual({ tag: STDIN, data: Buffer.alloc(0) });
    expect(decodeData(Buffer.from([7, 1]))).toBeNull();
    expect(decodeData(Buffer.alloc(0))).toBeNull();
    expect(STDOUT).toBe(1);
  });

  it("validates the start message and the control messages", () => {
    expect(
      parseClientMessage(
        JSON.stringify({
          type: "start",
          command: "bash",
          tty: true,
          env: { A: "1" },
          memory: "256m",
          cols: 80,
          rows: 24,
          term: "xterm-256color",
        }),
      ),
    ).toEqual({
      type: "start",
      command: "bash",
      // No image asked for: the app's current release (a plugin may name a service image).
      image: null,
      tty: true,
      env: { A: "1" },
      memory: 256 * MiB,
      cols: 80,
      rows: 24,
      term: "xterm-256color",
    });
    expect(parseClientMessage('{"type":"resize","cols":120,"rows":40}')).toEqual({
      type: "resize",
      cols: 120,
      rows: 40,
    });
    expect(parseClientMessage('{"type":"eof"}')).toEqual({ type: "eof" });
    expect(() => parseClientMessage('{"type":"resize","cols":0,"rows":40}')).toThrow(
      /cols must be a whole number/,
    );
    expect(() => parseClientMessage("nope")).toThrow(/not JSON/);
    expect(() => parseClientMessage('{"type":"launch"}')).toThrow(/unknown control message/);
  });

  it("rejects bad run requests with one clear line", () => {
    expect(() => parseRunRequest({ command: "  " })).toThrow(/no command given/);
    expect(() => parseRunRequest({ command: "x", env: { "1BAD": "v" } })).toThrow(
      /config key "1BAD" is invalid/,
    );
    expect(() => parseRunRequest({ command: "x", memory: "lots" })).toThrow(
      /memory "lots" must look like 256m/,
    );
    expect(parseRunRequest({ command: "x", term: "bad term;" }).term).toBeNull();
  });

  it("reads the server's messages, ignoring ones it does not know", () => {
    expect(parseServerMessage('{"type":"exit","code":3}')).toEqual({ type: "exit", code: 3 });
    expect(parseServerMessage('{"type":"started","dyno":"run.2"}')).toEqual({
      type: "started",
      dyno: "run.2",
    });
    expect(parseServerMessage('{"type":"later-feature"}')).toBeNull();
  });
});

describe("the CLI's run arguments", () => {
  it("turns argv into one command line, quoting where a local shell would have", () => {
    expect(commandLine(["rake db:migrate && echo ok"])).toBe("rake db:migrate && echo ok");
    expect(commandLine(["python", "manage.py", "migrate"])).toBe("python manage.py migrate");
    expect(commandLine(["echo", "a b", "it's", "$HOME"])).toBe(`echo 'a b' 'it'\\''s' '$HOME'`);
  });

  it("reads --env pairs", () => {
    expect(parseEnvPairs(["A=1", "B=x=y", "C="])).toEqual({ A: "1", B: "x=y", C: "" });
    expect(() => parseEnvPairs(["NOVALUE"])).toThrow(/--env "NOVALUE" must look like KEY=VALUE/);
    expect(() => parseEnvPairs(["9X=1"])).toThrow(/--env "9X" is not a variable name/);
  });
});

function release(over: Partial<Release> = {}): Release {
  return {
    version: 4,
    image: "paas/shop:v4",
    commit: "abc",
    config: { GREETING: "hi", DYNO: "spoofed" },
    processTypes: { web: "httpd -f", worker: "node worker.js" },
    port: 5000,
    description: "Deploy abc",
    user: "admin",
    createdAt: "2024-01-01T00:00:00.000Z",
    status: "succeeded",
    ...over,
  };
}

describe("one-off container plans", () => {
  const base = {
    namespace: "tq",
    app: "shop",
    release: release(),
    process: "run" as const,
    number: 7,
    command: "bash",
    env: { GREETING: "override", EXTRA: "1" },
    memory: 256 * MiB,
    tty: true,
    mode: "attached" as const,
    term: "xterm-256color",
  };

  it("numbers one-offs run.N, and scheduled runs scheduler.N", () => {
    expect(dynoName("run", 7)).toBe("run.7");
    expect(dynoName("scheduler", 12)).toBe("scheduler.12");
  });

  it("runs the release's image with its config, the user's env and DYNO=run.N, attached to a TTY", () => {
    const spec = planOneOff(base);
    expect(spec.name).toBe("tq.shop.run.7");
    expect(spec.Image).toBe("paas/shop:v4");
    expect(spec.Cmd).toEqual(["/bin/sh", "-c", "bash"]);
    expect(spec.Env).toEqual(
      expect.arrayContaining([
        "GREETING=override",
        "EXTRA=1",
        "DYNO=run.7",
        "PORT=5000",
        "TERM=xterm-256color",
      ]),
    );
    expect(spec.Env?.filter((e) => e.startsWith("DYNO="))).toEqual(["DYNO=run.7"]);
    expect(spec.Tty).toBe(true);
    expect(spec.OpenStdin).toBe(true);
    expect(spec.StdinOnce).toBe(true);
    expect(spec.Labels).toMatchObject({
      "paas.managed": "true",
      "paas.namespace": "tq",
      "paas.app": "shop",
      "paas.release": "v4",
      "paas.kind": "oneoff",
      "paas.process": "run",
      "paas.instance": "7",
      "paas.oneoff": "attached",
    });
  });

  it("publishes no port, never restarts, keeps json-file log limits, and mounts no Docker socket", () => {
    const spec = planOneOff({ ...base, tty: false, mode: "cron", process: "scheduler", cronJob: "abc123" });
    expect(spec.ExposedPorts).toBeUndefined();
    expect(spec.HostConfig?.PortBindings).toBeUndefined();
    expect(spec.HostConfig?.RestartPolicy).toEqual({ Name: "no" });
    expect(spec.HostConfig?.Memory).toBe(256 * MiB);
    expect(spec.HostConfig?.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-size": "10m", "max-file": "3" },
    });
    expect(JSON.stringify(spec)).not.toContain("docker.sock");
    expect(spec.OpenStdin).toBe(false);
    expect(spec.Env).not.toContain("TERM=xterm-256color");
    expect(spec.Labels).toMatchObject({
      "paas.process": "scheduler",
      "paas.oneoff": "cron",
      "paas.cron-job": "abc123",
    });
  });

  it("runs a bare Procfile type's command, as Dokku does", () => {
    expect(resolveCommand("worker", release().processTypes)).toBe("node worker.js");
    expect(resolveCommand("worker --once", release().processTypes)).toBe("worker --once");
    expect(resolveCommand("bash", release().processTypes)).toBe("bash");
  });
});

describe("paas cron output", () => {
  const job = {
    id: "abc",
    command: "echo hi",
    schedule: "* * * * *",
    concurrencyPolicy: "allow",
    maintenance: false,
    nextRun: "2026-01-01T00:01:00.000Z",
    lastRun: null,
  };
  it("describes the last result", () => {
    expect(describeLastRun(null)).toBe("-");
    const last = {
      scheduledAt: "2026-01-01T00:00:00.000Z",
      startedAt: "2026-01-01T00:00:00.100Z",
      finishedAt: "2026-01-01T00:00:01.300Z",
      exitCode: 3,
      durationMs: 1200,
      dyno: "scheduler.4",
      outcome: "failed",
    };
    expect(describeLastRun(last)).toBe("failed (exit 3, 1.2s)");
    expect(describeLastRun({ ...last, outcome: "running" })).toBe("running (scheduler.4)");
    expect(
      describeLastRun({ ...last, outcome: "skipped", message: "the previous run was still running" }),
    ).toBe("skipped: the previous run was still running");
    const [headers, rows] = cronRows([job, { ...job, maintenance: true }]);
    expect(headers).toEqual(["ID", "SCHEDULE", "POLICY", "NEXT RUN", "LAST RUN", "RESULT", "COMMAND"]);
    expect(rows[0]).toEqual(["abc", "* * * * *", "allow", "2026-01-01T00:01:00.000Z", "-", "-", "echo hi"]);
    expect(rows[1][3]).toBe("(maintenance)");
  });
});
