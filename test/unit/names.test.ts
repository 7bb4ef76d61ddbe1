import { describe, expect, it } from "vitest";
import { PaasError } from "../../src/errors.js";
import { parseAppName, parseConfigKey, randomAppName } from "../../src/names.js";

/** The PaasError a call throws (fails the test when it throws nothing or something else). */
function errorOf(fn: () => unknown): PaasError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PaasError);
    return err as PaasError;
  }
  throw new Error("expected an error, got none");
}

describe("parseAppName", () => {
  it("accepts lower-case letters, digits and single dashes, 3-30 long", () => {
    for (const name of ["abc", "my-app", "app2", "a1-b2-c3", "x".repeat(30), "hello-world-42"]) {
      expect(parseAppName(name)).toBe(name);
    }
  });

  it.each([
    ["upper case", "Upper", /"Upper" is invalid.*lower-case/],
    ["too long", "a".repeat(40), /must be 3-30 characters long \(it is 40\); pick a shorter name$/],
    ["too short", "ab", /must be 3-30 characters long \(it is 2\); pick a longer name$/],
    ["a path", "../x", /"\.\.\/x" is invalid/],
    ["a leading digit", "1app", /"1app" is invalid.*starting with a letter/],
    ["a trailing dash", "app-", /"app-" is invalid.*not ending with a dash/],
    ["a double dash", "my--app", /"my--app" is invalid.*single dashes/],
    ["a space", "my app", /"my app" is invalid/],
    ["a dot", "my.app", /"my.app" is invalid/],
  ])("rejects %s as invalid_input with a message naming the problem", (_what, raw, message) => {
    const err = errorOf(() => parseAppName(raw));
    expect(err.code).toBe("invalid_input");
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("\n");
  });

  it("rejects an empty name, saying it is empty", () => {
    const err = errorOf(() => parseAppName(""));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toMatch(/app name is empty/);
  });

  it("rejects values that are not strings", () => {
    for (const raw of [undefined, null, 42, {}, ["abc"]]) {
      expect(errorOf(() => parseAppName(raw)).code).toBe("invalid_input");
    }
  });

  it("prints control characters in a bad name as ?, and keeps the message short", () => {
    const err = errorOf(() => parseAppName("ab\x1b[31mc"));
    expect(err.message).toContain('"ab?[31mc"');
    const long = errorOf(() => parseAppName("x".repeat(500)));
    expect(long.message.length).toBeLessThan(200);
  });
});

describe("randomAppName", () => {
  it("makes names that parseAppName accepts, at both ends of the random range", () => {
    for (const r of [0, 0.25, 0.5, 0.999999]) {
      const name = randomAppName(() => r);
      expect(parseAppName(name)).toBe(name);
      expect(name).toMatch(/^[a-z]+-[a-z]+-\d{4}$/);
    }
  });

  it("is determined by the injected random source", () => {
    const seq = (xs: number[]) => {
      let i = 0;
      return () => xs[i++ % xs.length];
    };
    const a = randomAppName(seq([0.1, 0.7, 0.3]));
    const b = randomAppName(seq([0.1, 0.7, 0.3]));
    expect(a).toBe(b);
    expect(randomAppName(() => 0)).toBe("ancient-badger-1000");
    expect(randomAppName(() => 0.999999)).toBe("witty-zephyr-9999");
  });

  it("makes valid names from Math.random by default", () => {
    for (let i = 0; i < 200; i++) {
      const name = randomAppName();
      expect(parseAppName(name)).toBe(name);
    }
  });
});

describe("parseConfigKey", () => {
  it("accepts letters, digits and underscores, not starting with a digit", () => {
    for (const key of ["A", "DATABASE_URL", "_private", "lower_case", "X9"]) {
      expect(parseConfigKey(key)).toBe(key);
    }
  });

  it.each([["1BAD"], [""], ["MY-KEY"], ["A B"], ["A=B"], ["KEY\n"]])("rejects %j as invalid_input", (raw) => {
    const err = errorOf(() => parseConfigKey(raw));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toMatch(/config key ".*" is invalid: use letters, digits and underscores/);
  });

  it("rejects values that are not strings", () => {
    expect(errorOf(() => parseConfigKey(7)).code).toBe("invalid_input");
    expect(errorOf(() => parseConfigKey(undefined)).message).toContain('config key ""');
  });
});

describe("parseAppName with values that are not strings", () => {
  it("says a name must be a string", () => {
    expect(() => parseAppName(42)).toThrow(/must be a string/);
    expect(() => parseAppName({})).toThrow(/must be a string/);
  });
});
