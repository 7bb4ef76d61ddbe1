import { describe, expect, it } from "vitest";
import {
  CA_IN_CONTEXT,
  CA_IN_IMAGE,
  caInjection,
  injectBuildCa,
  portFromExposed,
  proxyBuildArgs,
  userStepFilter,
} from "../../src/builder/dockerfile-plan.js";

const CA = caInjection();

/** The Dockerfile with every injected CA line taken out again. */
const withoutCa = (text: string) =>
  text
    .split("\n")
    .filter((l) => !CA.includes(l))
    .join("\n");

describe("caInjection", () => {
  it("copies the bundle from the build context and points the usual CA variables at it as ARGs", () => {
    expect(CA[0]).toBe(`COPY ${CA_IN_CONTEXT} ${CA_IN_IMAGE}`);
    for (const v of [
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "CURL_CA_BUNDLE",
      "REQUESTS_CA_BUNDLE",
      "PIP_CERT",
    ]) {
      expect(CA).toContain(`ARG ${v}=${CA_IN_IMAGE}`);
    }
    // ARGs, not ENVs: the build's CA must not persist into the runtime image's environment.
    expect(CA.filter((l) => l.startsWith("ENV"))).toEqual([]);
  });
});

describe("injectBuildCa", () => {
  it("inserts the CA lines right after a single FROM", () => {
    const df = 'FROM paas/busybox\nRUN wget https://example.com\nCMD ["httpd"]';
    expect(injectBuildCa(df).split("\n")).toEqual([
      "FROM paas/busybox",
      ...CA,
      "RUN wget https://example.com",
      'CMD ["httpd"]',
    ]);
  });

  it("inserts them after every FROM of a multi-stage build", () => {
    const df = [
      "# syntax and comments stay",
      "ARG BASE=paas/debian:bookworm",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a JS one
      "FROM ${BASE} AS build",
      "RUN make",
      "",
      "from --platform=linux/amd64 paas/busybox",
      "COPY --from=build /out /app",
      "  FROM scratch AS final",
      "COPY --from=1 /app /app",
    ].join("\n");
    const out = injectBuildCa(df).split("\n");
    const froms = out.flatMap((l, i) => (/^\s*from\s/i.test(l) ? [i] : []));
    expect(froms).toHaveLength(3);
    for (const i of froms) expect(out.slice(i + 1, i + 1 + CA.length)).toEqual(CA);
    expect(out).toHaveLength(9 + 3 * CA.length);
    // "COPY --from=..." is not a FROM instruction.
    const copy = out.indexOf("COPY --from=build /out /app");
    expect(out[copy + 1]).toBe("  FROM scratch AS final");
  });

  it("follows line continuations of a FROM before inserting", () => {
    const df = "FROM \\\n  paas/debian:bookworm \\\n  AS base\nRUN true";
    expect(injectBuildCa(df).split("\n")).toEqual([
      "FROM \\",
      "  paas/debian:bookworm \\",
      "  AS base",
      ...CA,
      "RUN true",
    ]);
  });

  it("changes nothing else", () => {
    const df = [
      "FROM paas/busybox AS a",
      "ENV A=1 \\",
      "    B=2",
      "# FROM in a comment is not an instruction",
      "RUN echo 'FROM here' && echo done",
      "FROM a",
      "EXPOSE 8080",
      "",
    ].join("\n");
    const out = injectBuildCa(df);
    expect(withoutCa(out)).toBe(df);
    expect(out.split("\n").filter((l) => l === CA[0])).toHaveLength(2);
  });

  it("leaves a Dockerfile without FROM alone", () => {
    expect(injectBuildCa("RUN true\n")).toBe("RUN true\n");
  });
});

describe("proxyBuildArgs", () => {
  it("passes each proxy setting in both spellings", () => {
    expect(
      proxyBuildArgs({ http: "http://p:3128", https: "http://s:3128", no: "localhost,.internal" }),
    ).toEqual({
      HTTP_PROXY: "http://p:3128",
      http_proxy: "http://p:3128",
      HTTPS_PROXY: "http://s:3128",
      https_proxy: "http://s:3128",
      NO_PROXY: "localhost,.internal",
      no_proxy: "localhost,.internal",
    });
  });

  it("leaves out what is not set", () => {
    expect(proxyBuildArgs({ http: null, https: null, no: null })).toEqual({});
    expect(proxyBuildArgs({ http: null, https: "http://s:1", no: null })).toEqual({
      HTTPS_PROXY: "http://s:1",
      https_proxy: "http://s:1",
    });
  });
});

describe("portFromExposed", () => {
  it("takes the exposed TCP port", () => {
    expect(portFromExposed({ "8080/tcp": {} })).toBe(8080);
    expect(portFromExposed({ "3000": {} })).toBe(3000);
  });

  it("takes the lowest of several TCP ports and ignores UDP", () => {
    expect(portFromExposed({ "9000/tcp": {}, "3000/tcp": {}, "53/udp": {} })).toBe(3000);
    expect(portFromExposed({ "53/udp": {}, "8080/tcp": {} })).toBe(8080);
  });

  it("falls back to 5000, or the given fallback, when nothing TCP is exposed", () => {
    expect(portFromExposed(undefined)).toBe(5000);
    expect(portFromExposed(null)).toBe(5000);
    expect(portFromExposed({})).toBe(5000);
    expect(portFromExposed({ "53/udp": {} })).toBe(5000);
    expect(portFromExposed({ "junk/tcp": {} }, 8000)).toBe(8000);
  });
});

describe("injectBuildCa and lines that only look like FROM", () => {
  const ca = caInjection().join("\n");

  it("does not treat a continued RUN line starting with 'from' as an instruction", () => {
    const df = "FROM a\nRUN python - <<<'x' \\\n  from y import z\nCMD x";
    const out = injectBuildCa(df);
    expect(out.split(ca)).toHaveLength(2);
    expect(out).toContain("RUN python - <<<'x' \\\n  from y import z");
  });

  it("skips heredoc bodies", () => {
    const df = "FROM a\nRUN <<EOF\nfrom foo import bar\nEOF\nCMD x";
    const out = injectBuildCa(df);
    expect(out.split(ca)).toHaveLength(2);
    expect(out.endsWith("RUN <<EOF\nfrom foo import bar\nEOF\nCMD x")).toBe(true);
  });
});

describe("userStepFilter", () => {
  it("hides the injected CA steps and their output, and numbers the user's steps as written", () => {
    const generated = injectBuildCa("FROM a AS build\nRUN make\nFROM b\nCOPY --from=build /x /x\n");
    const n = CA.length;
    const total = 4 + 2 * n + 2;
    const docker = [
      `Step 1/${total} : FROM a AS build`,
      " ---> 1234567890ab",
      ...CA.flatMap((c, i) => [`Step ${2 + i}/${total} : ${c}`, " ---> Using cache"]),
      `Step ${2 + n}/${total} : RUN make`,
      "make: done",
      `Step ${3 + n}/${total} : FROM b`,
      ...CA.flatMap((c, i) => [`Step ${4 + n + i}/${total} : ${c}`, " ---> Using cache"]),
      `Step ${total - 2}/${total} : COPY --from=build /x /x`,
      `Step ${total - 1}/${total} : LABEL paas.app=a`,
      " ---> Running in 1234567890ab",
      `Step ${total}/${total} : LABEL paas.kind=release`,
      "Successfully built 1234567890ab",
    ];
    const shown = userStepFilter(generated, { "paas.app": "a", "paas.kind": "release" });
    expect(docker.map(shown).filter((l) => l !== null)).toEqual([
      "Step 1/4 : FROM a AS build",
      " ---> 1234567890ab",
      "Step 2/4 : RUN make",
      "make: done",
      "Step 3/4 : FROM b",
      "Step 4/4 : COPY --from=build /x /x",
      "Successfully built 1234567890ab",
    ]);
  });

  it("leaves a build without injection alone", () => {
    const shown = userStepFilter("FROM a\nRUN true\n");
    expect(shown("Step 2/2 : RUN true")).toBe("Step 2/2 : RUN true");
  });
});
