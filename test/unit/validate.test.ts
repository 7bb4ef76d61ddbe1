import { describe, expect, it } from "vitest";
import { expiryFrom } from "../../src/api/routes/users.js";
import { parse, schemas } from "../../src/api/validate.js";

const fails = (schema: Parameters<typeof parse>[0], value: unknown) => {
  try {
    parse(schema, value);
  } catch (err) {
    return (err as Error & { status: number }).status === 400
      ? (err as Error).message
      : `status ${(err as { status: number }).status}`;
  }
  return "passed";
};

describe("edge schemas", () => {
  it("checks config: keys by the rule, values as strings up to 32 KiB or null", () => {
    expect(parse(schemas.configPatch, { A: "1", B_2: null })).toEqual({ A: "1", B_2: null });
    expect(fails(schemas.configPatch, { "1BAD": "x" })).toMatch(/^config key "1BAD" is invalid/);
    expect(fails(schemas.configPatch, { A: 5 })).toBe("A: must be a string (or null to unset)");
    expect(fails(schemas.configPatch, { A: "x".repeat(32 * 1024 + 1) })).toBe("A: is longer than 32 KiB");
    expect(fails(schemas.configPatch, {})).toMatch(/send a JSON object of config vars/);
    expect(fails(schemas.configPatch, [1])).toMatch(/send a JSON object|expected record/);
  });

  it("checks formation, domains and app bodies", () => {
    expect(parse(schemas.formationPatch, { web: "+1", worker: 2 })).toEqual({ web: "+1", worker: 2 });
    expect(fails(schemas.formationPatch, { web: { x: 1 } })).toMatch(/^web: /);
    expect(fails(schemas.domainsAdd, { hostnames: "a.example.com" })).toMatch(/hostnames/);
    expect(fails(schemas.domainsAdd, { hostnames: [] })).toBe("hostnames: give at least one domain");
    expect(parse(schemas.createApp, undefined)).toBeUndefined();
    expect(fails(schemas.createApp, { name: 5 })).toBe("name: app name must be a string");
  });

  it("checks users, passwords and tokens", () => {
    expect(fails(schemas.userAdd, { email: "not-an-email" })).toMatch(
      /^email: give the user's email address/,
    );
    expect(fails(schemas.userAdd, { email: "a@example.com", password: "short" })).toMatch(
      /at least 8 characters/,
    );
    expect(fails(schemas.tokenCreate, { expires: "30 days" })).toMatch(/expiry looks like 30d/);
    expect(parse(schemas.tokenCreate, { expires: "30d" })).toEqual({ expires: "30d" });
  });

  it("turns an expiry into a date", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(expiryFrom("30d", now)?.toISOString()).toBe("2026-01-31T00:00:00.000Z");
    expect(expiryFrom("90m", now)?.toISOString()).toBe("2026-01-01T01:30:00.000Z");
    expect(expiryFrom(undefined, now)).toBeNull();
  });
});
