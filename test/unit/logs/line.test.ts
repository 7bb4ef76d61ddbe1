import { describe, expect, it } from "vitest";
import { logplexFrame, octetFrame, syslogMessage } from "../../../src/logs/drains/frame.js";
import { parseDrainUrl } from "../../../src/logs/drains/url.js";
import {
  dockerSince,
  dockerTsKey,
  formatColoured,
  formatLine,
  fromDockerTs,
  type LogLine,
  matches,
  rfc3339,
  splitMessage,
} from "../../../src/logs/line.js";

const line = (over: Partial<LogLine> = {}): LogLine => ({
  ts: "2026-11-27T10:00:00.123456+00:00",
  source: "app",
  process: "web.1",
  message: "listening on 5000",
  ...over,
});

describe("log lines", () => {
  it("prints Heroku's form", () => {
    expect(formatLine(line())).toBe("2026-11-27T10:00:00.123456+00:00 app[web.1]: listening on 5000");
    expect(formatLine(line({ source: "paas", process: "router", message: "at=info" }))).toBe(
      "2026-11-27T10:00:00.123456+00:00 paas[router]: at=info",
    );
  });

  it("colours the prefix only", () => {
    const c = formatColoured(line());
    expect(c).toContain("\x1b[");
    expect(c.replace(/\x1b\[[0-9;]*m/g, "")).toBe(formatLine(line()));
  });

  it("turns Docker's nanosecond timestamps into microseconds with an offset", () => {
    expect(fromDockerTs("2026-11-27T10:00:00.123456789Z")).toBe("2026-11-27T10:00:00.123456+00:00");
    expect(fromDockerTs("2026-11-27T10:00:00.1Z")).toBe("2026-11-27T10:00:00.100000+00:00");
    expect(fromDockerTs("2026-11-27T10:00:00Z")).toBe("2026-11-27T10:00:00.000000+00:00");
    expect(fromDockerTs("yesterday")).toBeNull();
    expect(rfc3339(new Date("2026-11-27T10:00:00.123Z"), 456)).toBe("2026-11-27T10:00:00.123456+00:00");
  });

  it("resumes from a cursor: since in seconds.nanos, and comparable keys", () => {
    expect(dockerSince("2026-11-27T10:00:00.5Z")).toBe(
      `${Date.parse("2026-11-27T10:00:00Z") / 1000}.500000000`,
    );
    // Docker trims trailing zeros: .5 comes after .123456789 only once widths agree.
    expect(dockerTsKey("2026-11-27T10:00:00.5Z") > dockerTsKey("2026-11-27T10:00:00.123456789Z")).toBe(true);
  });

  it("splits lines over 10,000 bytes on character boundaries", () => {
    expect(splitMessage("short")).toEqual(["short"]);
    const long = "é".repeat(6000); // 12,000 bytes
    const parts = splitMessage(long);
    expect(parts.length).toBe(2);
    expect(parts.every((p) => Buffer.byteLength(p) <= 10_000)).toBe(true);
    expect(parts.join("")).toBe(long);
  });

  it("filters by process type, dyno and source", () => {
    expect(matches(line(), { processType: "web" })).toBe(true);
    expect(matches(line({ process: "worker.1" }), { processType: "web" })).toBe(false);
    expect(matches(line({ process: "web.2" }), { dyno: "web.1" })).toBe(false);
    expect(matches(line({ source: "paas", process: "router" }), { source: "app" })).toBe(false);
    expect(matches(line({ source: "paas", process: "router" }), { processType: "router" })).toBe(true);
  });
});

describe("drain frames", () => {
  it("writes RFC 5424 for syslog drains, with octet counting", () => {
    const msg = syslogMessage(line(), "d.123");
    expect(msg).toBe("<190>1 2026-11-27T10:00:00.123456+00:00 d.123 app web.1 - - listening on 5000");
    expect(octetFrame(msg)).toBe(`${Buffer.byteLength(msg)} ${msg}`);
    expect(octetFrame("é")).toBe("2 é");
  });

  it("writes Logplex frames as Heroku's HTTPS drains do", () => {
    const l = line({
      ts: "2012-11-30T06:45:29+00:00",
      process: "web.3",
      message: "State changed from starting to up",
    });
    // Heroku's documented example frame is "83 <40>1 ..."; our priority <190> is one byte longer.
    expect(logplexFrame(l)).toBe(
      "84 <190>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n",
    );
  });

  it("accepts the drain URLs Heroku does, and says what is wrong with others", () => {
    expect(parseDrainUrl("syslog+tls://logs.example.com:6514")).toMatchObject({
      kind: "syslog+tls",
      port: 6514,
    });
    expect(parseDrainUrl("https://user:pw@example.com/drain")).toMatchObject({ kind: "https", port: 443 });
    expect(parseDrainUrl("syslog+udp://127.0.0.1:514")).toMatchObject({ kind: "syslog+udp" });
    expect(parseDrainUrl("syslog://example.com")).toEqual({ error: expect.stringContaining("need a port") });
    expect(parseDrainUrl("ftp://example.com")).toEqual({
      error: expect.stringContaining("start with syslog://"),
    });
    expect(parseDrainUrl("not a url")).toEqual({ error: expect.stringContaining("is not a URL") });
  });
});
