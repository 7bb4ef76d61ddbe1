import { describe, expect, it } from "vitest";
import {
  aliasesFor,
  hostFor,
  newAddonName,
  newCredentials,
  parseAddonName,
  parseAs,
  parseService,
  planService,
  SERVICES,
  urlsFor,
} from "../../plugins/addons/plan.js";
import type { Addon } from "../../plugins/addons/types.js";

const pg: Addon = {
  name: "postgres-abc123",
  service: "postgres",
  app: "shop",
  attachments: [
    { app: "shop", as: "DATABASE" },
    { app: "admin", as: "SHOP_DB" },
  ],
  user: "u1",
  password: "pw",
  database: "d1",
  image: "paas/postgres:15",
  createdAt: "2026-01-01T00:00:00Z",
  createdBy: "admin",
};

describe("add-on plans", () => {
  it("knows the services by our and Heroku's names, and rejects others with a hint", () => {
    expect(parseService("postgres").name).toBe("postgres");
    expect(parseService("heroku-postgresql:mini").name).toBe("postgres");
    expect(parseService("redis").name).toBe("redis");
    expect(() => parseService("mysql")).toThrow(/unknown add-on service "mysql": use postgres or redis/);
  });

  it("--as names the config var; DATABASE and REDIS by default", () => {
    expect(parseAs(undefined, SERVICES.postgres)).toBe("DATABASE");
    expect(parseAs("", SERVICES.redis)).toBe("REDIS");
    expect(parseAs("analytics_url", SERVICES.postgres)).toBe("ANALYTICS");
    expect(() => parseAs("bad-name", SERVICES.postgres)).toThrow(/--as "bad-name" is invalid/);
  });

  it("names and credentials are DNS- and URL-safe", () => {
    expect(newAddonName(SERVICES.postgres, () => Buffer.from([1, 2, 255]))).toBe("postgres-0102ff");
    expect(parseAddonName("postgres-0102ff")).toBe("postgres-0102ff");
    expect(() => parseAddonName("Bad_Name")).toThrow(/add-on name "Bad_Name" is invalid/);
    const c = newCredentials(SERVICES.postgres);
    expect(c.user).toMatch(/^u[0-9a-f]{8}$/);
    expect(c.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it("the service container: its own network only, no published port, the named volume, restarted unless stopped", () => {
    const spec = planService("t1", pg, null);
    expect(spec.name).toBe("t1-addon-postgres-abc123");
    expect(spec.HostConfig?.PortBindings).toBeUndefined();
    expect(spec.HostConfig?.NetworkMode).toBe("t1-addon-postgres-abc123");
    expect(spec.HostConfig?.RestartPolicy).toEqual({ Name: "unless-stopped" });
    expect(spec.HostConfig?.Mounts).toEqual([
      { Type: "volume", Source: "t1-addon-postgres-abc123-data", Target: "/var/lib/postgresql/data" },
    ]);
    expect(spec.Labels).toMatchObject({
      "paas.managed": "true",
      "paas.namespace": "t1",
      "paas.kind": "addon",
      "paas.addon": "postgres-abc123",
    });
    expect(spec.Labels?.["paas.app"]).toBeUndefined();
    expect(spec.Env).toContain("POSTGRES_PASSWORD=pw");
    expect(spec.NetworkingConfig?.EndpointsConfig?.["t1-addon-postgres-abc123"].Aliases).toEqual(
      aliasesFor(pg),
    );
  });

  it("each attached app reaches the add-on as <addon>.<app>.internal through its own var", () => {
    expect(aliasesFor(pg)).toEqual([
      "postgres-abc123",
      "postgres-abc123.shop.internal",
      "postgres-abc123.admin.internal",
    ]);
    expect(urlsFor(pg, "shop")).toEqual({
      DATABASE_URL: `postgres://u1:pw@${hostFor(pg.name, "shop")}:5432/d1`,
    });
    expect(urlsFor(pg, "admin")).toEqual({
      SHOP_DB_URL: "postgres://u1:pw@postgres-abc123.admin.internal:5432/d1",
    });
    expect(urlsFor(pg, "other")).toEqual({});
  });
});
