import { describe, expect, it } from "vitest";
import {
  BUNDLED_DIR,
  compileContainerSpec,
  IN_CONTAINER,
  networkEnv,
  processTypesFile,
} from "../../../src/builder/buildpacks/plan.js";
import { chooseBuildpacks } from "../../../src/builder/buildpacks/select.js";
import { slugImageChanges, splitImageTag } from "../../../src/builder/buildpacks/slug.js";

const settings = {
  buildCaBundle: "/etc/ssl/certs/ca-certificates.crt",
  buildHttpProxy: "http://proxy:3128",
  buildHttpsProxy: null,
  buildNoProxy: "localhost",
};

function plan(dotBuildpacks: string | null = null, localBuildpacks?: Record<string, string>) {
  return compileContainerSpec({
    name: "paas-build-app-v1-abc",
    image: "paas/stack-build:1",
    selection: chooseBuildpacks({ config: {}, dotBuildpacks }),
    paths: {
      buildDir: "/tmp/src",
      cacheDir: "/data/cache/app",
      envDir: "/tmp/w/env",
      outDir: "/tmp/w/out",
      localBuildpacks,
    },
    labels: { "paas.managed": "true", "paas.kind": "build" },
    settings,
    stack: "paas-1",
    memory: 2 ** 31,
  });
}

describe("compileContainerSpec", () => {
  it("runs the runner as uid 1000 with no Docker socket and no capabilities", () => {
    const spec = plan();
    expect(spec.User).toBe("1000:1000");
    expect(spec.HostConfig?.CapDrop).toEqual(["ALL"]);
    expect(spec.HostConfig?.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(JSON.stringify(spec)).not.toContain("docker.sock");
    expect(spec.Cmd).toEqual([
      "bash",
      IN_CONTAINER.runner,
      "auto",
      "bundled:nodejs",
      "bundled:python",
      "bundled:go",
      "bundled:static",
      "bundled:procfile",
    ]);
    expect(spec.Labels).toEqual({ "paas.managed": "true", "paas.kind": "build" });
  });

  it("mounts the app, cache, ENV_DIR (read-only), CA bundle (read-only) and bundled buildpacks", () => {
    const binds = plan().HostConfig?.Binds ?? [];
    expect(binds).toContain("/tmp/src:/app");
    expect(binds).toContain("/data/cache/app:/cache");
    expect(binds).toContain("/tmp/w/env:/paas/env:ro");
    expect(binds).toContain("/tmp/w/out:/paas/out");
    expect(binds).toContain(`${BUNDLED_DIR}:/paas/buildpacks:ro`);
    expect(binds).toContain(`/etc/ssl/certs/ca-certificates.crt:${IN_CONTAINER.ca}:ro`);
  });

  it("mounts the build's copy of each file:// buildpack once, read-only, at the URL's path", () => {
    const spec = plan("file:///srv/bp#v1\nfile:///srv/bp#v2\nnodejs\n", {
      "/srv/bp": "/tmp/w/buildpack-0.git",
    });
    expect(spec.Cmd?.slice(2)).toEqual([
      "all",
      "git:file:///srv/bp#v1",
      "git:file:///srv/bp#v2",
      "bundled:nodejs",
    ]);
    expect((spec.HostConfig?.Binds ?? []).filter((b) => b.includes("/srv/bp"))).toEqual([
      "/tmp/w/buildpack-0.git:/srv/bp:ro",
    ]);
  });

  it("never mounts a file:// path itself: without a copy, nothing of it reaches the build", () => {
    const spec = plan("file:///var/run#x\n");
    expect((spec.HostConfig?.Binds ?? []).some((b) => b.startsWith("/var/run"))).toBe(false);
  });

  it("points every tool at the CA bundle and passes proxies in both spellings", () => {
    const env = networkEnv(settings);
    for (const name of [
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "PIP_CERT",
      "REQUESTS_CA_BUNDLE",
      "GIT_SSL_CAINFO",
    ]) {
      expect(env).toContain(`${name}=${IN_CONTAINER.ca}`);
    }
    expect(env).toContain("HTTP_PROXY=http://proxy:3128");
    expect(env).toContain("http_proxy=http://proxy:3128");
    expect(env).toContain("no_proxy=localhost");
    expect(env.some((e) => e.startsWith("HTTPS_PROXY"))).toBe(false);
    expect(
      networkEnv({ buildCaBundle: null, buildHttpProxy: null, buildHttpsProxy: null, buildNoProxy: null }),
    ).toEqual([]);
  });

  it("never puts config vars in the container environment (they are files in ENV_DIR)", () => {
    expect((plan().Env ?? []).every((e) => !e.startsWith("SECRET"))).toBe(true);
  });
});

describe("slug image", () => {
  it("writes process types one per line for the entrypoint", () => {
    expect(processTypesFile({ web: "npm start", worker: "node w.js\nx" })).toBe(
      "web: npm start\nworker: node w.js x\n",
    );
  });

  it("sets HOME, PORT, workdir, user and the entrypoint on commit", () => {
    expect(slugImageChanges()).toEqual([
      "ENV HOME=/app PORT=5000",
      "WORKDIR /app",
      "USER 1000:1000",
      "EXPOSE 5000",
      'ENTRYPOINT ["/bin/bash", "/etc/paas/entrypoint.sh"]',
      "CMD []",
    ]);
  });

  it("splits image tags without mistaking a registry port for a tag", () => {
    expect(splitImageTag("paas/app:v3")).toEqual(["paas/app", "v3"]);
    expect(splitImageTag("registry:5000/paas/app")).toEqual(["registry:5000/paas/app", "latest"]);
    expect(splitImageTag("registry:5000/app:v1")).toEqual(["registry:5000/app", "v1"]);
  });
});
