import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerContainers, httpGet, Platform, ROOT } from "../helpers/platform.js";

// One log stream per app, end to end: a real server, real containers, the real CLI. The
// app (test/fixtures/apps/logs-app) writes to its output when asked through the router.

interface Line {
  ts: string;
  source: string;
  process: string;
  message: string;
}

const HEROKU_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (app|paas)\[[a-z0-9_.-]+\]: /;

/** A `paas logs -t --json` running in the background, its lines collected. */
class Tail {
  lines: Line[] = [];
  raw = "";
  private child: ChildProcess;
  constructor(p: Platform, args: string[]) {
    this.child = spawn(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], {
      env: p.env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      this.raw += d.toString();
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop() ?? "";
      for (const part of parts) if (part.trim()) this.lines.push(JSON.parse(part) as Line);
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.raw += d.toString();
    });
  }
  has(pred: (l: Line) => boolean): boolean {
    return this.lines.some(pred);
  }
  stop(): void {
    this.child.kill("SIGINT");
  }
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  tries = 120,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("paas logs: one stream per app", () => {
  const p = new Platform();
  const app = `logs-${Date.now().toString(36)}`;
  const secret = `s3cr3t-${crypto.randomBytes(12).toString("hex")}`;
  let repo = "";
  let pushOutput = "";
  const captured: string[] = [];
  let tail: Tail | null = null;
  let drainBytes = "";
  const receiver = net.createServer((sock) => sock.on("data", (d: Buffer) => (drainBytes += d.toString())));

  const cli = async (args: string[]) => {
    const res = await p.cli([...args, "-a", app]);
    captured.push(res.stdout, res.stderr);
    return res;
  };
  const logsJson = async (args: string[] = []): Promise<Line[]> => {
    const res = await cli(["logs", "--json", "-n", "2000", ...args]);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  };
  const say = async (word: string) => {
    const res = await p.get(app, `/cgi-bin/say?${word}`);
    return res.status === 200;
  };

  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    await p.start();
    const login = await p.cli(["login", "--api", p.apiUrl, "--token", p.token]);
    expect(login.code, login.stderr).toBe(0);
    repo = await p.fixtureRepo("logs-app");
    expect((await p.cli(["apps:create", app], { cwd: repo })).code).toBe(0);
    const push = await p.git(["push", "paas", "main"], repo);
    pushOutput = push.stdout + push.stderr;
    expect(push.code, pushOutput).toBe(0);
    // config:set echoes what the user set (as Heroku's does): the user's own terminal, so not
    // among what is checked for the secret. The app restarts with it and never prints it.
    const set = await p.cli(["config:set", `SECRET_TOKEN=${secret}`, "-a", app]);
    expect(set.code, set.stderr).toBe(0);
  });

  afterAll(async () => {
    tail?.stop();
    receiver.close();
    await p.stop();
    if (repo) await fsp.rm(repo, { recursive: true, force: true });
  });

  it("shows a container's line in Heroku's form, and the release phase's (a container gone in under a second)", async () => {
    const text = await until("web.1's first line", async () => {
      const res = await cli(["logs", "-n", "200"]);
      return res.stdout.includes("app[web.1]: listening on") ? res.stdout : null;
    });
    const line = text.split("\n").find((l) => l.includes("app[web.1]: listening on")) ?? "";
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 app\[web\.1\]: listening on \d+$/);
    for (const l of text.split("\n").filter(Boolean)) expect(l).toMatch(HEROKU_LINE);
    const lines = await logsJson();
    expect(lines.some((l) => l.process === "release.1" && /release phase ran for v\d+/.test(l.message))).toBe(
      true,
    );
  });

  it("has the platform's events with their sources, and paas events shows them alone", async () => {
    const lines = await until("events", async () => {
      const got = await logsJson();
      return got.some((l) => l.message.startsWith("Release v")) ? got : null;
    });
    const events = lines.filter((l) => l.source === "paas");
    expect(events.some((l) => l.process === "api" && /^Deploy [0-9a-f]{7} by \S+$/.test(l.message))).toBe(
      true,
    );
    expect(events.some((l) => l.process === "api" && /^Release v\d+ created$/.test(l.message))).toBe(true);
    expect(events.some((l) => l.process === "api" && l.message === "Set SECRET_TOKEN config var")).toBe(true);
    expect(
      events.some((l) => l.process === "web.1" && l.message.startsWith("Starting process with command")),
    ).toBe(true);
    expect(
      events.some((l) => l.process === "web.1" && l.message === "State changed from starting to up"),
    ).toBe(true);
    const ev = await cli(["events", "-n", "500"]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toContain("paas[api]: Release v");
    expect(ev.stdout).not.toContain("app[");
  });

  it("puts the router's lines in the stream", async () => {
    expect(await say("via-router")).toBe(true);
    const lines = await until("a router line", async () => {
      const got = await logsJson(["-s", "paas", "-p", "router"]);
      return got.length > 0 ? got : null;
    });
    expect(lines[0].source).toBe("paas");
    expect(lines[0].message).toMatch(/method=GET path="\/cgi-bin\/say\?via-router"/);
  });

  it("tails live across a redeploy, a scale to 2 and a crash restart", async () => {
    tail = new Tail(p, ["logs", "-t", "--json", "-n", "1", "-a", app]);
    const t = tail;
    await until(
      "the tail's first word",
      async () => (await say("first-word")) && t.has((l) => l.message === "said: first-word"),
    );
    // Redeploy: a new commit, new containers.
    await fsp.writeFile(path.join(repo, "www/index.html"), "<p>logs app v2</p>\n");
    await p.git(["commit", "-qam", "v2"], repo);
    const push = await p.git(["push", "paas", "main"], repo);
    pushOutput += push.stdout + push.stderr;
    expect(push.code, push.stderr).toBe(0);
    await until(
      "a word after the redeploy",
      async () => (await say("after-deploy")) && t.has((l) => l.message === "said: after-deploy"),
    );
    expect(t.has((l) => l.process === "api" && l.message.startsWith("Deploy "))).toBe(true);
    // Scale to 2: web.2's output shows up in the same tail.
    const scale = await cli(["ps:scale", "web=2"]);
    expect(scale.code, scale.stderr).toBe(0);
    await until("web.2 in the tail", async () => {
      await say("after-scale");
      return t.has((l) => l.process === "web.2" && l.message === "said: after-scale");
    });
    await until("the scale event", async () =>
      t.has((l) => l.process === "api" && /^Scaled to (\S+ )*web@2( |$)/.test(l.message)),
    ).catch((err) => {
      throw new Error(
        `${err}: ${JSON.stringify(t.lines.filter((l) => l.source === "paas" && l.process !== "router"))}`,
      );
    });
    // Crash: the container exits, Docker restarts it, the tail goes on.
    await p.get(app, "/cgi-bin/crash").catch(() => null);
    await until("the exit event", async () =>
      t.has((l) => l.source === "paas" && /^Process exited with status \d+$/.test(l.message)),
    );
    await until("a word after the crash", async () => {
      await say("after-crash").catch(() => false);
      return t.has((l) => l.message === "said: after-crash");
    });
    expect(t.has((l) => l.message === "crashing now")).toBe(true);
  });

  it("filters with -p, -d and -s", async () => {
    const web = await logsJson(["-p", "web"]);
    expect(web.length).toBeGreaterThan(0);
    expect(web.every((l) => /^web\.\d+$/.test(l.process))).toBe(true);
    const web2 = await logsJson(["-d", "web.2"]);
    expect(web2.length).toBeGreaterThan(0);
    expect(web2.every((l) => l.process === "web.2")).toBe(true);
    const platform = await logsJson(["-s", "paas"]);
    expect(platform.length).toBeGreaterThan(0);
    expect(platform.every((l) => l.source === "paas")).toBe(true);
    const own = await logsJson(["-s", "app"]);
    expect(own.every((l) => l.source === "app")).toBe(true);
    const bad = await cli(["logs", "-d", "web"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: "web" is not a dyno/);
  });

  it("answers curl: plain text lines, the token required, bad filters a 400", async () => {
    const url = `${p.apiUrl}/api/v1/apps/${app}/logs?num=5&source=app`;
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${p.token}` } });
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const lines = (await res.text()).split("\n").filter(Boolean);
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l).toMatch(/^\S+ app\[[a-z0-9_]+\.\d+\]: /);
    const bad = await fetch(`${p.apiUrl}/api/v1/apps/${app}/logs?source=nope`, {
      headers: { authorization: `Bearer ${p.token}` },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe(
      'source must be app or paas (got "nope")',
    );
  });

  it("keeps 1,500 lines", async () => {
    expect((await p.get(app, "/cgi-bin/burst?1700")).status).toBe(200);
    const lines = await until("the burst's last line", async () => {
      const got = await logsJson(["-n", "5000"]);
      return got.some((l) => l.message === "burst line 1700") ? got : null;
    });
    expect(lines.length).toBe(1500);
    expect(lines.some((l) => l.message === "burst line 1")).toBe(false);
  });

  it("neither loses nor repeats lines across a server restart", async () => {
    const before = await logsJson();
    // Lines written while the platform is down are picked up when it is back.
    const containers = await dockerContainers(p.ns, app, "app");
    const web1 = containers.find((c) => c.Labels["paas.instance"] === "1" && c.State === "running");
    const port = web1?.Ports.find((x) => x.PublicPort)?.PublicPort;
    expect(port).toBeTruthy();
    const restarting = p.restart();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 20; i++) {
      const res = await httpGet(port as number, "x", "/cgi-bin/say?while-restarting").catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await restarting;
    await until("the line written across the restart", async () =>
      (await logsJson()).some((l) => l.message === "said: while-restarting"),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const after = await logsJson(["-n", "5000"]);
    const count = (lines: Line[], msg: string) => lines.filter((l) => l.message === msg).length;
    expect(count(after, "said: while-restarting")).toBe(1);
    // Every app line from before is there once, not twice.
    const lastBefore = before.filter((l) => l.source === "app").slice(-20);
    for (const l of lastBefore) {
      expect(
        after.filter((a) => a.ts === l.ts && a.message === l.message && a.process === l.process),
      ).toHaveLength(1);
    }
  });

  it("ps shows memory and CPU", async () => {
    const procs = await until("metrics in ps", async () => {
      const res = await cli(["ps", "--json"]);
      const list = JSON.parse(res.stdout) as { name: string; memoryBytes?: number; cpuPercent?: number }[];
      const web = list.find((x) => x.name === "web.1");
      return web && typeof web.memoryBytes === "number" && web.memoryBytes > 0 ? list : null;
    });
    const web = procs.find((x) => x.name === "web.1") as { memoryLimitBytes?: number; cpuPercent?: number };
    expect(web.memoryLimitBytes).toBeGreaterThan(0);
    expect(typeof web.cpuPercent).toBe("number");
    const table = await cli(["ps"]);
    expect(table.stdout).toMatch(/CPU\s+MEMORY/);
    expect(table.stdout).toMatch(/web\.1 .* \d+(\.\d+)?%\s+\d+(\.\d+)? ?[KMG]i?B? \/ 512 ?MiB/);
  });

  it("sends the app's lines to its syslog drain, and drains shows what was delivered", async () => {
    const bad = await cli(["drains:add", "ftp://127.0.0.1:1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: drain URLs start with syslog:\/\//);
    const url = `syslog://127.0.0.1:${(receiver.address() as net.AddressInfo).port}`;
    const add = await cli(["drains:add", url]);
    expect(add.code, add.stderr).toBe(0);
    await until("a line at the drain", async () => {
      await say("to-the-drain");
      return drainBytes.includes("app web.1 - - said: to-the-drain");
    });
    expect(drainBytes).toMatch(/^\d+ <190>1 \S+ d\.[0-9a-f-]+ (app|paas) \S+ - - /);
    await until("drains to count deliveries", async () => {
      const list = JSON.parse((await cli(["drains", "--json"])).stdout) as {
        url: string;
        delivered: number;
      }[];
      return list.length === 1 && list[0].url === url && list[0].delivered > 0;
    });
    const table = await cli(["drains"]);
    expect(table.stdout).toMatch(/URL\s+TOKEN\s+DELIVERED\s+DROPPED\s+LAST ERROR/);
    const remove = await cli(["drains:remove", url]);
    expect(remove.code, remove.stderr).toBe(0);
    expect((await cli(["drains"])).stdout).toContain("has no log drains");
  });

  it("shows the stream and live figures on the dashboard's app page", async () => {
    const login = await fetch(`${p.apiUrl}/dashboard/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: p.token }).toString(),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    expect(cookie).toContain("=");
    const page = await fetch(`${p.apiUrl}/dashboard/apps/${app}`, { headers: { cookie } });
    const html = await page.text();
    captured.push(html);
    expect(page.status).toBe(200);
    expect(html).toMatch(/app\[web\.\d\]: /);
    const stream = /data-stream="([^"]+)"/.exec(html)?.[1].replace(/&amp;/g, "&");
    expect(stream).toMatch(/live\/logs\?tail=1&num=0&after=\d+-\d+$/);
    // The page's live part: server-sent events of what comes next.
    const abort = new AbortController();
    const res = await fetch(`${p.apiUrl}${stream}`, {
      headers: { cookie, accept: "text/event-stream" },
      signal: abort.signal,
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let sse = "";
    await say("on-the-dashboard");
    await until("the dashboard's live line", async () => {
      const { value } = await reader.read();
      sse += new TextDecoder().decode(value);
      return sse.includes("said: on-the-dashboard");
    });
    abort.abort();
    expect(sse).toMatch(/^id: \d+-\d+\ndata: \{/m);
    const ps = (await (
      await fetch(`${p.apiUrl}/dashboard/apps/${app}/live/ps`, { headers: { cookie } })
    ).json()) as {
      memoryBytes?: number;
    }[];
    expect(ps.some((x) => typeof x.memoryBytes === "number")).toBe(true);
    const script = await fetch(`${p.apiUrl}/dashboard/assets/live.js`, { headers: { cookie } });
    expect(script.headers.get("content-type")).toMatch(/javascript/);
  });

  it("writes no config value in anything the platform printed", async () => {
    tail?.stop();
    const everything = [
      pushOutput,
      p.output,
      tail?.raw ?? "",
      drainBytes,
      ...captured,
      JSON.stringify(await logsJson()),
    ].join("\n");
    expect(everything).toContain("SECRET_TOKEN");
    expect(everything).not.toContain(secret);
  });
});
