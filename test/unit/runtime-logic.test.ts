import http from "node:http";
import type { AddressInfo } from "node:net";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { parseAppJson } from "../../src/app-json/app-json.js";
import { PaasError } from "../../src/errors.js";
import { type CheckClock, checkPlanFor, runChecks } from "../../src/runtime/checks.js";
import { applyScale } from "../../src/runtime/operations.js";
import { planReconcile } from "../../src/runtime/reconcile.js";

// Pure logic of issue 4: scale arithmetic, app.json parsing, the check strategies on an
// injected clock, and the reconcile plan.

describe("applyScale", () => {
  const types = ["web", "worker"];
  it("sets, adds and subtracts", () => {
    expect(applyScale({ web: 1, worker: 1 }, types, { web: "3", worker: "+1" })).toEqual({
      web: 3,
      worker: 2,
    });
    expect(applyScale({ web: 3 }, types, { web: "-2" })).toEqual({ web: 1 });
    expect(applyScale({ web: 1 }, types, { web: 0 })).toEqual({ web: 0 });
  });
  it("refuses unknown types, negatives and junk with a clear message", () => {
    expect(() => applyScale({ web: 1 }, types, { clock: "1" })).toThrow(
      /no "clock" process type; its types are: web, worker/,
    );
    expect(() => applyScale({ web: 1 }, types, { web: "-2" })).toThrow(/cannot go below 0/);
    expect(() => applyScale({ web: 1 }, types, { web: "two" })).toThrow(PaasError);
    expect(() => applyScale({ web: 1 }, types, { web: "99" })).toThrow(/cannot go above/);
  });
});

describe("parseAppJson", () => {
  it("reads Dokku-style health checks with defaults, and scripts", () => {
    const a = parseAppJson(
      JSON.stringify({
        healthchecks: { web: [{ path: "/ready", content: "ok", attempts: 3 }] },
        scripts: { predeploy: "migrate", postdeploy: "notify" },
      }),
    );
    expect(a.healthchecks.web[0]).toMatchObject({
      path: "/ready",
      content: "ok",
      attempts: 3,
      timeout: 5,
      wait: 2,
    });
    // Plain scripts.postdeploy is Heroku's and Dokku's once-after-the-first-deploy script.
    expect(a.scripts).toEqual({ predeploy: "migrate", postdeployOnce: "notify" });
  });
  it("rejects what it cannot act on, naming the field", () => {
    expect(() => parseAppJson("{")).toThrow(/app\.json line 1, column 2/);
    expect(() => parseAppJson(JSON.stringify({ healthchecks: { web: [{ path: "ready" }] } }))).toThrow(
      /healthchecks.web\[0\].path must start with/,
    );
    expect(() => parseAppJson(JSON.stringify({ healthchecks: { web: [{ attempts: -1 }] } }))).toThrow(
      /attempts/,
    );
    expect(() => parseAppJson(JSON.stringify({ scripts: { predeploy: 1 } }))).toThrow(/scripts.predeploy/);
  });
});

function fakeClock(): CheckClock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

describe("runChecks", () => {
  it("passes a container that stays up for the uptime window", async () => {
    const plan = checkPlanFor("worker", {}, { startTimeoutMs: 1000, uptimeMs: 3000, disabled: false });
    expect(plan.port).toBe(false);
    const res = await runChecks(
      { name: "worker.1", port: null, hostHeader: "a", isAlive: async () => true },
      plan,
      fakeClock(),
    );
    expect(res).toEqual({ ok: true });
  });
  it("fails one that exits inside the uptime window", async () => {
    const clock = fakeClock();
    const plan = checkPlanFor("worker", {}, { startTimeoutMs: 1000, uptimeMs: 3000, disabled: false });
    const res = await runChecks(
      { name: "worker.1", port: null, hostHeader: "a", isAlive: async () => clock.t < 1500 },
      plan,
      clock,
    );
    expect(res.ok).toBe(false);
    expect(!res.ok && res.output[0]).toContain("worker.1 exited within 3s");
  });
  it("sums up a failed HTTP check in one complete line, the attempts below it", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(500);
      res.end("no");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const check = {
        type: "startup" as const,
        name: "web",
        path: "/up",
        attempts: 2,
        timeout: 2,
        wait: 1,
        initialDelay: 0,
      };
      const plan = { port: false, startTimeoutMs: 1000, uptimeMs: 0, http: [check] };
      const res = await runChecks(
        { name: "web.1", port, hostHeader: "a", isAlive: async () => true },
        plan,
        fakeClock(),
      );
      expect(res.ok).toBe(false);
      const output = res.ok ? [] : res.output;
      expect(output[0]).toBe(
        'health check "web" failed for web.1 after 2 attempts (last: GET /up -> status 500)',
      );
      expect(output.slice(1)).toEqual([
        "attempt 1/2: GET /up -> status 500",
        "attempt 2/2: GET /up -> status 500",
      ]);
      const gone = await runChecks(
        { name: "web.1", port, hostHeader: "a", isAlive: async () => false },
        plan,
        fakeClock(),
      );
      expect(gone.ok ? [] : gone.output).toEqual(['health check "web" failed: web.1 is not running']);
    } finally {
      server.close();
    }
  });
  it("disabled checks check nothing", () => {
    const plan = checkPlanFor(
      "web",
      { web: [{ type: "startup", name: "x", path: "/", attempts: 1, timeout: 1, wait: 1, initialDelay: 0 }] },
      {
        startTimeoutMs: 1000,
        uptimeMs: 3000,
        disabled: true,
      },
    );
    expect(plan).toMatchObject({ port: false, uptimeMs: 0, http: [] });
  });
});

function container(
  release: string,
  type: string,
  index: number,
  state = "running",
  id = `${type}${index}${release}`,
) {
  return {
    Id: id,
    State: state,
    Labels: { "paas.release": release, "paas.process": type, "paas.instance": String(index) },
  } as unknown as Docker.ContainerInfo;
}

describe("planReconcile", () => {
  it("creates missing slots, removes old releases, extras beyond the formation and duplicates", () => {
    const plan = planReconcile({ release: "v3", formation: { web: 2, worker: 1 } }, [
      container("v3", "web", 1),
      container("v2", "web", 2),
      container("v3", "web", 3),
      container("v3", "worker", 1, "exited"),
      container("v3", "web", 1, "exited", "dup"),
    ]);
    expect(plan.create).toEqual([{ type: "web", index: 2 }]);
    expect(plan.start).toEqual([{ id: "worker1v3", slot: "worker.1" }]);
    expect(plan.remove.map((r) => r.id).sort()).toEqual(["dup", "web2v2", "web3v3"]);
  });
  it("removes everything when the app has no release", () => {
    const plan = planReconcile({ release: null, formation: { web: 1 } }, [container("v1", "web", 1)]);
    expect(plan).toEqual({ remove: [expect.objectContaining({ id: "web1v1" })], start: [], create: [] });
  });
});
