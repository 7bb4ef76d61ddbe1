import { describe, expect, it } from "vitest";
import { fail, useFakeApi } from "./helpers/fake-api.js";

// Buildpacks, builder, build cache and stack (issue 3): the real CLI program and the real
// fetch against a small HTTP server whose answers each test sets, route by route, and
// which records every request it gets.

const NOW = new Date("2024-05-01T12:00:00Z");

const { answer, paas, requests } = useFakeApi("paas-cli-buildpacks-", NOW);

/** An app whose buildpack list and builder the fake API keeps, as the real one would. */
function buildpacksOf(initial: string[], builder: string | null = null): { list: string[] } {
  const state = { list: initial };
  answer("GET /apps/shop/buildpacks", () => ({ json: { buildpacks: state.list, builder } }));
  answer("PUT /apps/shop/buildpacks", (body) => {
    state.list = (body as { buildpacks: string[] }).buildpacks;
    return { json: { buildpacks: state.list, builder } };
  });
  return state;
}

const puts = () => requests.filter((r) => r.method === "PUT").map((r) => r.body);

describe("buildpacks", () => {
  it("lists the buildpacks in order, with the builder", async () => {
    buildpacksOf(["nodejs", "https://git.example.com/bp/ffmpeg.git#v2"], "buildpacks");
    expect(await paas(["buildpacks", "-a", "shop"])).toEqual({
      code: 0,
      stdout: [
        "=== shop Buildpacks",
        "1. nodejs",
        "2. https://git.example.com/bp/ffmpeg.git#v2",
        "Builder: buildpacks",
        "",
      ].join("\n"),
      stderr: "",
    });
    expect(JSON.parse((await paas(["buildpacks", "-a", "shop", "--json"])).stdout)).toEqual({
      buildpacks: ["nodejs", "https://git.example.com/bp/ffmpeg.git#v2"],
      builder: "buildpacks",
    });
  });

  it("says when nothing is set and the builder is automatic", async () => {
    buildpacksOf([]);
    expect((await paas(["buildpacks", "-a", "shop"])).stdout).toBe(
      [
        "=== shop Buildpacks",
        "none set: each push detects them",
        "Builder: auto (the repo's Dockerfile if it has one, else buildpacks)",
        "",
      ].join("\n"),
    );
  });

  it("sets the whole list in the order given", async () => {
    buildpacksOf(["python"]);
    expect(
      (await paas(["buildpacks:set", "nodejs", "file:///srv/bp/custom#main", "-a", "shop"])).stdout,
    ).toBe(
      [
        "Setting the buildpacks of shop... done",
        "1. nodejs",
        "2. file:///srv/bp/custom#main",
        "The next push builds with these: git push paas main",
        "",
      ].join("\n"),
    );
    expect(requests).toEqual([
      {
        method: "PUT",
        url: "/api/v1/apps/shop/buildpacks",
        body: { buildpacks: ["nodejs", "file:///srv/bp/custom#main"] },
      },
    ]);
  });

  it("rejects a buildpack given twice or a blank one", async () => {
    expect((await paas(["buildpacks:set", "nodejs", "go", "nodejs", "-a", "shop"])).stderr).toBe(
      "error: nodejs is given twice: give each buildpack once\n",
    );
    expect((await paas(["buildpacks:set", "node js", "-a", "shop"])).stderr).toBe(
      'error: "node js" is not a buildpack: give a bundled one\'s name (e.g. nodejs) or a git URL (https://host/repo.git#ref)\n',
    );
    expect(requests).toEqual([]);
  });

  it("adds at the end, at --index (from 1), or at the end for an index past it", async () => {
    const state = buildpacksOf(["nodejs"]);
    expect((await paas(["buildpacks:add", "python", "-a", "shop"])).stdout).toBe(
      "Adding python to the buildpacks of shop... done\n1. nodejs\n2. python\nThe next push builds with these: git push paas main\n",
    );
    await paas(["buildpacks:add", "static", "--index", "1", "-a", "shop"]);
    await paas(["buildpacks:add", "go", "-i", "9", "-a", "shop"]);
    expect(state.list).toEqual(["static", "nodejs", "python", "go"]);
    expect(requests.map((r) => r.method)).toEqual(["GET", "PUT", "GET", "PUT", "GET", "PUT"]);
  });

  it("does not add a buildpack twice, nor at index 0", async () => {
    buildpacksOf(["nodejs"]);
    expect(await paas(["buildpacks:add", "nodejs", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: nodejs is already a buildpack of this app (see paas buildpacks)\n",
    });
    expect((await paas(["buildpacks:add", "go", "--index", "0", "-a", "shop"])).stderr).toBe(
      "error: option '-i, --index <n>' argument '0' is invalid. give a whole number of 1 or more.\n",
    );
    expect(puts()).toEqual([]);
  });

  it("removes a buildpack, and fails for one that is not there", async () => {
    const state = buildpacksOf(["nodejs", "python"]);
    expect((await paas(["buildpacks:remove", "nodejs", "-a", "shop"])).stdout).toBe(
      "Removing nodejs from the buildpacks of shop... done\n1. python\nThe next push builds with these: git push paas main\n",
    );
    expect(state.list).toEqual(["python"]);
    expect(await paas(["buildpacks:remove", "go", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: go is not a buildpack of this app (it has python)\n",
    });
    expect(puts()).toEqual([{ buildpacks: ["python"] }]);
  });

  it("clears the list", async () => {
    buildpacksOf(["nodejs"]);
    expect((await paas(["buildpacks:clear", "-a", "shop"])).stdout).toBe(
      "Clearing the buildpacks of shop... done\nThe next push detects its buildpacks.\n",
    );
    expect(puts()).toEqual([{ buildpacks: [] }]);
  });

  it("prints the API's error when the list is refused", async () => {
    answer("PUT /apps/shop/buildpacks", fail(400, "invalid_input", 'no bundled buildpack "rust"'));
    expect(await paas(["buildpacks:set", "rust", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "Setting the buildpacks of shop... !\n",
      stderr: 'error: no bundled buildpack "rust"\n',
    });
  });
});

describe("builder:set, repo:purge-cache", () => {
  it("sets the builder, with auto sent as null", async () => {
    answer("PUT /apps/shop/builder", { json: {} });
    expect((await paas(["builder:set", "buildpacks", "-a", "shop"])).stdout).toBe(
      "Setting the builder of shop to buildpacks... done\n",
    );
    expect((await paas(["builder:set", "auto", "-a", "shop"])).stdout).toBe(
      "Setting the builder of shop to auto (the repo's Dockerfile if it has one, else buildpacks)... done\n",
    );
    await paas(["builder:set", "dockerfile", "-a", "shop"]);
    expect(requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ["PUT", "/api/v1/apps/shop/builder", { builder: "buildpacks" }],
      ["PUT", "/api/v1/apps/shop/builder", { builder: null }],
      ["PUT", "/api/v1/apps/shop/builder", { builder: "dockerfile" }],
    ]);
  });

  it("rejects an unknown builder", async () => {
    expect(await paas(["builder:set", "docker", "-a", "shop"])).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "error: command-argument value 'docker' is invalid for argument 'builder'. Allowed choices are dockerfile, buildpacks, auto.\n",
    });
    expect(requests).toEqual([]);
  });

  it("purges the build cache", async () => {
    answer("DELETE /apps/shop/cache", { json: { purged: true } });
    expect((await paas(["repo:purge-cache", "-a", "shop"])).stdout).toBe(
      "Purging the build cache of shop... done\n",
    );
    expect(requests).toEqual([{ method: "DELETE", url: "/api/v1/apps/shop/cache", body: undefined }]);
  });
});

describe("stack", () => {
  it("shows both stack images and their tools side by side", async () => {
    const stack = {
      build: {
        image: "paas/stack-build:3",
        version: "3",
        installed: { node: "18.19.0", npm: "9.2.0", python: "3.11.2", go: "1.19.8" },
      },
      run: { image: "paas/stack-run:3", version: "3", installed: { node: "18.19.0", python: "3.11.2" } },
    };
    answer("GET /stack", { json: stack });
    expect(await paas(["stack"])).toEqual({
      code: 0,
      stdout: [
        "=== Stack",
        "         BUILD               RUN",
        "image    paas/stack-build:3  paas/stack-run:3",
        "version  3                   3",
        "node     18.19.0             18.19.0",
        "npm      9.2.0               -",
        "python   3.11.2              3.11.2",
        "go       1.19.8              -",
        "",
      ].join("\n"),
      stderr: "",
    });
    expect(JSON.parse((await paas(["stack", "--json"])).stdout)).toEqual(stack);
  });

  it("says how to build images that are missing", async () => {
    answer("GET /stack", { json: { build: null, run: null } });
    expect((await paas(["stack"])).stdout).toBe(
      [
        "=== Stack",
        "         BUILD      RUN",
        "image    not built  not built",
        "version  -          -",
        "Build the stack images with: paas stack:build",
        "",
      ].join("\n"),
    );
  });

  it("rebuilds the stack images", async () => {
    answer("POST /stack/build", { json: { build: "paas/stack-build:4", run: "paas/stack-run:4" } });
    expect(await paas(["stack:build"])).toEqual({
      code: 0,
      stdout:
        "Building stack images (this takes a few minutes)... done\nBuild image: paas/stack-build:4\nRun image:   paas/stack-run:4\n",
      stderr: "",
    });
    expect(requests).toEqual([{ method: "POST", url: "/api/v1/stack/build", body: undefined }]);
  });
});
