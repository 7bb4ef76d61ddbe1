import { describe, expect, it } from "vitest";
import { fail, useFakeApi } from "./helpers/fake-api.js";

// Releases, formation, resources and checks (issue 4): the real CLI program and the real
// fetch against a small HTTP server whose answers each test sets, route by route, and
// which records every request it gets.

const NOW = new Date("2024-05-01T12:00:00Z");

const { answer, paas, requests } = useFakeApi("paas-cli-releases-", NOW);

const RELEASE_V3 = {
  version: "v3",
  description: "Deploy 9f8e7d6",
  status: "succeeded",
  createdAt: "2024-05-01T11:57:00Z",
  user: "admin",
  image: "paas/shop:v3",
  commit: "9f8e7d6",
  current: true,
  configKeys: ["DATABASE_URL", "GREETING"],
  formation: { web: 2, worker: 1 },
  processTypes: { web: "node server.js", worker: "node worker.js", release: "node migrate.js" },
};

describe("releases", () => {
  it("lists releases with the failed one in capitals and the current one marked", async () => {
    answer("GET /apps/shop/releases", {
      json: [
        { ...RELEASE_V3, version: "v4", status: "failed", current: false, createdAt: "2024-05-01T11:59:58Z" },
        RELEASE_V3,
        {
          ...RELEASE_V3,
          version: "v2",
          description: "Set GREETING config var",
          current: false,
          createdAt: "2024-04-28T09:00:00Z",
        },
        {
          ...RELEASE_V3,
          version: "v1",
          status: "pending",
          current: false,
          createdAt: "2024-05-01T11:00:00Z",
        },
      ],
    });
    const result = await paas(["releases", "-a", "shop"]);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "=== shop Releases",
        "VERSION  STATUS               DESCRIPTION              USER   WHEN",
        "v4       FAILED               Deploy 9f8e7d6           admin  just now",
        "v3       succeeded (current)  Deploy 9f8e7d6           admin  3 minutes ago",
        "v2       succeeded            Set GREETING config var  admin  3 days ago",
        "v1       pending              Deploy 9f8e7d6           admin  1 hour ago",
        "",
      ].join("\n"),
    });
    expect(requests.map((r) => r.url)).toEqual(["/api/v1/apps/shop/releases"]);
  });

  it("shows the current release by default, with its process types and counts, the release command apart", async () => {
    answer("GET /apps/shop/releases/current", { json: RELEASE_V3 });
    const result = await paas(["releases:info", "-a", "shop"]);
    expect(result.stdout).toBe(
      [
        "=== Release v3",
        "Description:     Deploy 9f8e7d6",
        "Status:          succeeded (current)",
        "By:              admin",
        "When:            2024-05-01T11:57:00Z (3 minutes ago)",
        "Image:           paas/shop:v3",
        "Commit:          9f8e7d6",
        "Config vars:     DATABASE_URL, GREETING",
        "Release command: node migrate.js",
        "",
        "=== Process Types",
        "TYPE    COUNT  COMMAND",
        "web     2      node server.js",
        "worker  1      node worker.js",
        "",
      ].join("\n"),
    );
  });

  it("asks for the version given, with or without its v, and prints JSON", async () => {
    const v1 = { ...RELEASE_V3, version: "v1", commit: null, configKeys: [], processTypes: { web: "" } };
    answer("GET /apps/shop/releases/v1", { json: v1 });
    const text = await paas(["releases:info", "1", "-a", "shop"]);
    expect(text.stdout).toContain("Commit:      -\nConfig vars: none\n");
    expect(text.stdout).toContain("web     2      (the image's CMD)\nworker  1      -\n");
    const asJson = await paas(["releases:info", "v1", "-a", "shop", "--json"]);
    expect(JSON.parse(asJson.stdout)).toEqual(v1);
    expect(requests.map((r) => r.url)).toEqual([
      "/api/v1/apps/shop/releases/v1",
      "/api/v1/apps/shop/releases/v1",
    ]);
  });

  it("rejects a version that is not vN before calling the API", async () => {
    for (const bad of ["latest", "v0", "v-1", "3.1"]) {
      expect(await paas(["releases:info", bad, "-a", "shop"])).toEqual({
        code: 1,
        stdout: "",
        stderr: `error: "${bad}" is not a release version: give one like v3 (paas releases lists them)\n`,
      });
    }
    expect(requests).toEqual([]);
  });

  it("rolls back to the version given", async () => {
    answer("POST /apps/shop/releases/rollback", { json: { version: "v7", rolledBackTo: "v3" } });
    expect(await paas(["releases:rollback", "v3", "-a", "shop"])).toEqual({
      code: 0,
      stdout: "Rolling back shop to v3... done, v7\n",
      stderr: "",
    });
    expect(requests).toEqual([
      { method: "POST", url: "/api/v1/apps/shop/releases/rollback", body: { version: "v3" } },
    ]);
  });

  it("rolls back to the previous release and says which it was", async () => {
    answer("POST /apps/shop/releases/rollback", { json: { version: "v7", rolledBackTo: "v5" } });
    const result = await paas(["releases:rollback", "-a", "shop"]);
    expect(result.stdout).toBe("Rolling back shop to the previous release... done, v7 (a copy of v5)\n");
    expect(requests[0].body).toEqual({});
  });

  it("finishes the line with ! and prints the failing check when a rollback fails", async () => {
    answer(
      "POST /apps/shop/releases/rollback",
      fail(422, "deploy_failed", "v8 (rollback to v3) failed its checks; v6 keeps serving", [
        "web.1: GET / answered 500",
      ]),
    );
    expect(await paas(["releases:rollback", "v3", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "Rolling back shop to v3... !\n",
      stderr: "error: v8 (rollback to v3) failed its checks; v6 keeps serving\n  web.1: GET / answered 500\n",
    });
  });

  it("prints a release's output as it is, ending with a newline", async () => {
    answer("GET /apps/shop/releases/v2/output", { text: "-----> Building\n       done" });
    expect(await paas(["releases:output", "v2", "-a", "shop"])).toEqual({
      code: 0,
      stdout: "-----> Building\n       done\n",
      stderr: "",
    });
    expect((await paas(["releases:output", "-a", "shop"])).stderr).toBe(
      "error: missing required argument 'version'\n",
    );
  });
});

describe("ps:scale", () => {
  it("sends each change as a string and prints the resulting counts", async () => {
    answer("PATCH /apps/shop/formation", { json: { formation: { web: 3, worker: 2, clock: 0, mailer: 1 } } });
    const result = await paas(["ps:scale", "web=3", "worker+1", "clock-1", "-a", "shop"]);
    expect(result).toEqual({
      code: 0,
      stdout: "Scaling dynos... done, now running web at 3, worker at 2, clock at 0\n",
      stderr: "",
    });
    expect(requests).toEqual([
      { method: "PATCH", url: "/api/v1/apps/shop/formation", body: { web: "3", worker: "+1", clock: "-1" } },
    ]);
  });

  it("keeps dashes inside type names and lower-cases types", async () => {
    answer("PATCH /apps/shop/formation", { json: { formation: { "my-worker": 1, web: 0 } } });
    await paas(["ps:scale", "my-worker-2", "Web=0", "-a", "shop"]);
    expect(requests[0].body).toEqual({ "my-worker": "-2", web: "0" });
  });

  it("shows the formation when given no changes", async () => {
    answer("GET /apps/shop/formation", { json: { web: 1, worker: 0 } });
    expect((await paas(["ps:scale", "-a", "shop"])).stdout).toBe("web=1 worker=0\n");
    expect(JSON.parse((await paas(["ps:scale", "-a", "shop", "--json"])).stdout)).toEqual({
      web: 1,
      worker: 0,
    });
  });

  it.each(["web", "web=", "web=x", "web=1.5", "web=-1", "=2", "web*2", "web+", "web.1=2", "web=1e3"])(
    "rejects %s before calling the API",
    async (bad) => {
      expect(await paas(["ps:scale", "worker=1", bad, "-a", "shop"])).toEqual({
        code: 1,
        stdout: "",
        stderr: `error: "${bad}" is not a scale: use TYPE=N, TYPE+N or TYPE-N with N a whole number, e.g. paas ps:scale web=2 worker+1\n`,
      });
      expect(requests).toEqual([]);
    },
  );

  it("rejects a type given twice", async () => {
    expect((await paas(["ps:scale", "web=1", "web+1", "-a", "shop"])).stderr).toBe(
      "error: web is scaled twice: give each process type once\n",
    );
    expect(requests).toEqual([]);
  });

  it("prints the API's error for a type the app does not have", async () => {
    answer(
      "PATCH /apps/shop/formation",
      fail(400, "invalid_input", "shop has no process type clock (it has web, worker)"),
    );
    expect(await paas(["ps:scale", "clock=1", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "Scaling dynos... !\n",
      stderr: "error: shop has no process type clock (it has web, worker)\n",
    });
  });
});

describe("ps, ps:restart, ps:stop", () => {
  it("shows uptime only for running processes, with restarts", async () => {
    const proc = {
      type: "web",
      port: 5000,
      container: "abc",
      release: "v3",
      command: "npm start",
      restarts: 0,
    };
    answer("GET /apps/shop/ps", {
      json: [
        { ...proc, name: "web.1", index: 1, state: "up", startedAt: "2024-05-01T11:57:57Z" },
        { ...proc, name: "web.2", index: 2, state: "starting", startedAt: "2024-05-01T11:59:55Z" },
        { ...proc, name: "web.3", index: 3, state: "up", startedAt: "2024-05-01T10:55:00Z" },
        {
          ...proc,
          name: "worker.1",
          type: "worker",
          state: "crashed",
          startedAt: "2024-05-01T11:00:00Z",
          restarts: 4,
          release: null,
        },
        { ...proc, name: "worker.2", type: "worker", state: "stopped", startedAt: null, command: null },
      ],
    });
    expect((await paas(["ps", "-a", "shop"])).stdout).toBe(
      [
        "NAME      STATE     UPTIME  RELEASE  RESTARTS  CPU  MEMORY  COMMAND",
        "web.1     up        2m 3s   v3       0         -    -       npm start",
        "web.2     starting  5s      v3       0         -    -       npm start",
        "web.3     up        1h 5m   v3       0         -    -       npm start",
        "worker.1  crashed   -       -        4         -    -       npm start",
        "worker.2  stopped   -       v3       0         -    -",
        "",
      ].join("\n"),
    );
  });

  it("restarts everything, a type or one process", async () => {
    answer("POST /apps/shop/ps/restart", { json: { restarted: ["web.1", "web.2"] } });
    expect((await paas(["ps:restart", "-a", "shop"])).stdout).toBe(
      "Restarting all processes of shop... done, restarted web.1, web.2\n",
    );
    expect((await paas(["ps:restart", "web", "-a", "shop"])).stdout).toBe(
      "Restarting web of shop... done, restarted web.1, web.2\n",
    );
    await paas(["ps:restart", "web.2", "-a", "shop"]);
    expect(requests.map((r) => r.body)).toEqual([{}, { target: "web" }, { target: "web.2" }]);
  });

  it("says when there was nothing to restart", async () => {
    answer("POST /apps/shop/ps/restart", { json: { restarted: [] } });
    expect((await paas(["ps:restart", "-a", "shop"])).stdout).toBe(
      "Restarting all processes of shop... done, nothing was running\n",
    );
  });

  it("rejects a bad restart target", async () => {
    for (const bad of ["web.0", "web.x", "web.1.2", "we b"]) {
      expect((await paas(["ps:restart", bad, "-a", "shop"])).stderr).toBe(
        `error: "${bad}" is not a process type or process: give TYPE or TYPE.N, e.g. web or web.1\n`,
      );
    }
    expect(requests).toEqual([]);
  });

  it("stops one process, and only one", async () => {
    answer("POST /apps/shop/ps/stop", { json: { stopped: "worker.2" } });
    expect((await paas(["ps:stop", "worker.2", "-a", "shop"])).stdout).toBe(
      "Stopping worker.2 of shop... done\n",
    );
    expect(requests).toEqual([
      { method: "POST", url: "/api/v1/apps/shop/ps/stop", body: { target: "worker.2" } },
    ]);
    expect(await paas(["ps:stop", "web", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'error: "web" is not a process: give TYPE.N as paas ps lists it, e.g. web.1\n',
    });
    expect(requests).toHaveLength(1);
  });
});

describe("resources", () => {
  it("shows each type's limits, falling back to the defaults", async () => {
    answer("GET /apps/shop/resources", {
      json: {
        defaults: { memory: "512m", cpu: null },
        types: { web: { memory: "1g", cpu: 0.5 }, worker: { memory: null, cpu: null } },
      },
    });
    expect((await paas(["resources", "-a", "shop"])).stdout).toBe(
      [
        "=== shop Resources",
        "TYPE       MEMORY          CPU",
        "(default)  512m            unlimited",
        "web        1g              0.5",
        "worker     512m (default)  unlimited",
        "",
      ].join("\n"),
    );
    expect(JSON.parse((await paas(["resources", "-a", "shop", "--json"])).stdout).defaults).toEqual({
      memory: "512m",
      cpu: null,
    });
  });

  it("sets limits for one type or for the whole app", async () => {
    answer("PATCH /apps/shop/resources", { json: {} });
    expect(await paas(["resources:set", "web", "--memory", "512M", "--cpu", "0.5", "-a", "shop"])).toEqual({
      code: 0,
      stdout: "Setting resources of web... done\n",
      stderr: "",
    });
    expect((await paas(["resources:set", "--cpu", ".25", "-a", "shop"])).stdout).toBe(
      "Setting resources of shop... done\n",
    );
    expect(requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ["PATCH", "/api/v1/apps/shop/resources", { type: "web", memory: "512m", cpu: 0.5 }],
      ["PATCH", "/api/v1/apps/shop/resources", { cpu: 0.25 }],
    ]);
  });

  it.each(["512", "512mb", "0m", "1.5g", "-1g", "lots"])("rejects --memory %s", async (bad) => {
    expect(await paas(["resources:set", "--memory", bad, "-a", "shop"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: option '--memory <size>' argument '${bad}' is invalid. give a size like 256m or 1g.\n`,
    });
    expect(requests).toEqual([]);
  });

  it.each(["0", "-1", "x", "1e3", "Infinity", "99"])("rejects --cpu %s", async (bad) => {
    const result = await paas(["resources:set", "--cpu", bad, "-a", "shop"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: option '--cpu <cpus>' argument '${bad}' is invalid. give a number of CPUs from 0.01 to 64, like 0.5 or 2.\n`,
    );
    expect(requests).toEqual([]);
  });

  it("needs a limit to set, and a process type rather than a process", async () => {
    expect((await paas(["resources:set", "web", "-a", "shop"])).stderr).toBe(
      "error: give --memory SIZE, --cpu N or both: paas resources:set [--memory 512m] [--cpu 0.5] [TYPE]\n",
    );
    expect((await paas(["resources:set", "web.1", "--memory", "1g", "-a", "shop"])).stderr).toBe(
      'error: "web.1" is not a process type: give a Procfile name like web or worker\n',
    );
    expect(requests).toEqual([]);
  });
});

describe("checks", () => {
  it("shows, disables and enables deploy checks", async () => {
    answer("GET /apps/shop/checks", { json: { enabled: true } });
    answer("PUT /apps/shop/checks", { json: {} });
    expect((await paas(["checks", "-a", "shop"])).stdout).toBe(
      "Deploy checks are enabled for shop: new containers must pass them before traffic moves.\n",
    );
    expect(JSON.parse((await paas(["checks", "-a", "shop", "--json"])).stdout)).toEqual({ enabled: true });
    expect((await paas(["checks:disable", "-a", "shop"])).stdout).toBe(
      "Disabling deploy checks for shop... done\n",
    );
    expect((await paas(["checks:enable", "-a", "shop"])).stdout).toBe(
      "Enabling deploy checks for shop... done\n",
    );
    expect(requests.slice(2).map((r) => [r.method, r.url, r.body])).toEqual([
      ["PUT", "/api/v1/apps/shop/checks", { enabled: false }],
      ["PUT", "/api/v1/apps/shop/checks", { enabled: true }],
    ]);
  });

  it("says how to turn disabled checks back on", async () => {
    answer("GET /apps/shop/checks", { json: { enabled: false } });
    expect((await paas(["checks", "-a", "shop"])).stdout).toBe(
      "Deploy checks are disabled for shop: deploys do not wait for them (paas checks:enable turns them on).\n",
    );
  });
});
