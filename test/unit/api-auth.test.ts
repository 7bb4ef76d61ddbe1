import type { Request } from "express";
import { describe, expect, it } from "vitest";
import { tokenFrom } from "../../src/auth.js";

const req = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as unknown as Request;
const basic = (userPass: string) => `Basic ${Buffer.from(userPass, "utf8").toString("base64")}`;

describe("tokenFrom", () => {
  it("reads a Bearer token", () => {
    expect(tokenFrom(req("Bearer paas_abc123"))).toBe("paas_abc123");
    expect(tokenFrom(req("bearer   paas_abc123  "))).toBe("paas_abc123");
  });

  it("reads the password of HTTP basic auth as the token (what git sends)", () => {
    expect(tokenFrom(req(basic("paas:paas_secret")))).toBe("paas_secret");
    expect(tokenFrom(req(basic(":paas_secret")))).toBe("paas_secret");
    expect(tokenFrom(req(basic("git:pa:ss")))).toBe("pa:ss");
  });

  it("takes a basic credential without a colon as the token", () => {
    expect(tokenFrom(req(basic("paas_secret")))).toBe("paas_secret");
  });

  it("gives an empty token for an empty basic password", () => {
    expect(tokenFrom(req(basic("paas:")))).toBe("");
  });

  it("is null without a header, or with another scheme", () => {
    expect(tokenFrom(req())).toBeNull();
    expect(tokenFrom(req(""))).toBeNull();
    expect(tokenFrom(req("Token paas_abc"))).toBeNull();
    expect(tokenFrom(req("Bearer"))).toBeNull();
  });
});
