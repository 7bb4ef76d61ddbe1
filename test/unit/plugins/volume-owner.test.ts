import { describe, expect, it } from "vitest";
import { resolveOwner } from "../../../src/runtime/volume-owner.js";

// Who a new storage volume is handed to: the image's Config.User, as Docker resolves it.

const passwd =
  "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\nweb:x:1001:50:web:/tmp:/bin/sh\n";
const group = "root:x:0:\nstaff:x:50:\napp:x:1000:\n";

describe("resolveOwner", () => {
  it("takes numbers as they are, a bare uid's group from passwd (else 0)", () => {
    expect(resolveOwner("1000:1000", null, null)).toEqual({ uid: 1000, gid: 1000 });
    expect(resolveOwner("1001", passwd, null)).toEqual({ uid: 1001, gid: 50 });
    expect(resolveOwner("4242", passwd, null)).toEqual({ uid: 4242, gid: 0 });
  });

  it("resolves names through the image's passwd and group", () => {
    expect(resolveOwner("app", passwd, null)).toEqual({ uid: 1000, gid: 1000 });
    expect(resolveOwner("web:staff", passwd, group)).toEqual({ uid: 1001, gid: 50 });
    expect(resolveOwner("app:7", passwd, null)).toEqual({ uid: 1000, gid: 7 });
  });

  it("has nothing to do for root, and gives up on a user the image does not know", () => {
    expect(resolveOwner("", passwd, null)).toBeNull();
    expect(resolveOwner("root", passwd, null)).toBeNull();
    expect(resolveOwner("0:0", null, null)).toBeNull();
    expect(resolveOwner("nobody", passwd, null)).toBeNull();
    expect(resolveOwner("app:nogroup", passwd, group)).toBeNull();
  });
});
