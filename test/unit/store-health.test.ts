import { describe, expect, it } from "vitest";
import { Balancer } from "../../src/router/balancer.js";
import { pickWithStandby } from "../../src/router/standby.js";
import { validateEntry } from "../../src/router/table.js";
import {
  isStoreConnectionError,
  storeAddress,
  storeUnreachable,
  storeUnreachableMessage,
} from "../../src/store/health.js";

describe("the state store's unreachable answer", () => {
  it("names host and port, never credentials", () => {
    expect(storeAddress("redis://:s3cret@10.0.0.5:6380/2")).toBe("10.0.0.5:6380");
    expect(storeAddress("redis://user:pw@redis.internal")).toBe("redis.internal:6379");
    expect(storeAddress("not a url")).toBe("the configured URL");
    const message = storeUnreachableMessage("redis://:s3cret@127.0.0.1:6379");
    expect(message).toBe(
      "the platform's state store (Redis at 127.0.0.1:6379) is unreachable; try again shortly",
    );
    expect(message).not.toContain("s3cret");
    const err = storeUnreachable("redis://127.0.0.1:6379");
    expect(err.status).toBe(503);
    expect(err.code).toBe("unavailable");
  });

  it("tells a lost connection from an answer of Redis", () => {
    const maxRetries = Object.assign(new Error("Reached the max retries per request limit (which is 0)."), {
      name: "MaxRetriesPerRequestError",
    });
    expect(isStoreConnectionError(maxRetries)).toBe(true);
    expect(isStoreConnectionError(new Error("Connection is closed."))).toBe(true);
    expect(
      isStoreConnectionError(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
    ).toBe(true);
    expect(isStoreConnectionError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(
      isStoreConnectionError(new Error("WRONGTYPE Operation against a key holding the wrong kind of value")),
    ).toBe(false);
    expect(isStoreConnectionError("Connection is closed.")).toBe(false);
  });
});

describe("standby backends in a route entry", () => {
  const entry = validateEntry({
    app: "web",
    backends: [{ host: "127.0.0.1", port: 5001 }],
    domains: [],
    standby: [{ host: "127.0.0.1", port: 5002, id: "web.1.old" }],
  });

  it("are read from the record, and checked like backends", () => {
    expect(entry.standby).toEqual([{ host: "127.0.0.1", port: 5002, id: "web.1.old" }]);
    expect(() => validateEntry({ app: "x", backends: [], domains: [], standby: [{ port: 0 }] })).toThrow(
      /needs host and port/,
    );
    expect(validateEntry({ app: "x", backends: [], domains: [] }).standby).toBeUndefined();
  });

  it("serve only once every backend was tried", () => {
    const balancer = new Balancer();
    expect(pickWithStandby(balancer, entry)?.port).toBe(5001);
    expect(pickWithStandby(balancer, entry, new Set(["127.0.0.1:5001"]))?.port).toBe(5002);
    expect(pickWithStandby(balancer, entry, new Set(["127.0.0.1:5001", "127.0.0.1:5002"]))).toBeNull();
    const plain = { ...entry, standby: undefined };
    expect(pickWithStandby(balancer, plain, new Set(["127.0.0.1:5001"]))).toBeNull();
  });
});
