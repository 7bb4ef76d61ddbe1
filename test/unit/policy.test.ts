import { describe, expect, it } from "vitest";
import { ACTIONS, type Action, authorize, isAppAction } from "../../src/auth/policy.js";

const admin = { user: "admin", role: "admin" as const };
const alice = { user: "alice@example.com", role: "user" as const };
const bob = { user: "bob@example.com", role: "user" as const };
const carol = { user: "carol@example.com", role: "user" as const };
const bobsApp = { owner: bob.user, collaborators: [carol.user] };

const memberActions: Action[] = [
  "app:read",
  "app:config",
  "app:write",
  "app:logs",
  "app:run",
  "app:scale",
  "app:destroy",
  "git:push",
  "git:fetch",
];

describe("authorize", () => {
  it("lets admins do everything, with or without an app", () => {
    for (const a of ACTIONS) {
      expect(authorize(admin, a, bobsApp).allow).toBe(true);
      expect(authorize(admin, a).allow).toBe(true);
    }
  });

  it("lets the owner do every app action, access changes included", () => {
    for (const a of [...memberActions, "app:access" as const])
      expect(authorize(bob, a, bobsApp).allow).toBe(true);
  });

  it("lets a collaborator do app work but not change access", () => {
    for (const a of memberActions)
      expect(authorize(carol, a, bobsApp)).toEqual({ allow: true, reason: "collaborator" });
    const d = authorize(carol, "app:access", bobsApp);
    expect(d.allow).toBe(false);
    expect(d.reason).toMatch(/owner or an admin/);
  });

  it("denies every app action to a stranger, with a reason naming them", () => {
    for (const a of [...memberActions, "app:access" as const]) {
      const d = authorize(alice, a, bobsApp);
      expect(d.allow).toBe(false);
      expect(d.reason).toContain("alice@example.com has no access");
    }
  });

  it("keeps platform-wide actions to admins", () => {
    const d = authorize(alice, "admin");
    expect(d.allow).toBe(false);
    expect(d.reason).toMatch(/not an admin/);
  });

  it("lets any signed-in user list and create apps and manage themselves", () => {
    for (const a of ["apps:list", "apps:create", "self"] as const)
      expect(authorize(alice, a).allow).toBe(true);
  });

  it("denies an app action without an app, and everything but public without a principal", () => {
    expect(authorize(alice, "app:read").allow).toBe(false);
    for (const a of ACTIONS) expect(authorize(null, a, bobsApp).allow).toBe(a === "public");
  });

  it("classifies app actions", () => {
    expect(ACTIONS.filter(isAppAction).sort()).toEqual([...memberActions, "app:access"].sort());
  });
});
