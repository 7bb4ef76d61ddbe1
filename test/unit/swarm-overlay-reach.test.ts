import { describe, expect, it } from "vitest";
import { inSubnet } from "../../src/runtime/swarm/overlay-reach.js";

// A worker probes swarm tasks only if it has an address on the overlay's subnet.
describe("inSubnet", () => {
  it("matches IPv4 addresses inside the CIDR only", () => {
    expect(inSubnet("10.0.1.7", "10.0.1.0/24")).toBe(true);
    expect(inSubnet("10.0.2.7", "10.0.1.0/24")).toBe(false);
    expect(inSubnet("10.0.255.1", "10.0.0.0/16")).toBe(true);
    expect(inSubnet("192.168.1.1", "0.0.0.0/0")).toBe(true);
    expect(inSubnet("10.0.1.7", "10.0.1.7/32")).toBe(true);
    expect(inSubnet("10.0.1.8", "10.0.1.7/32")).toBe(false);
  });

  it("says no for anything that is not IPv4", () => {
    expect(inSubnet("::1", "10.0.1.0/24")).toBe(false);
    expect(inSubnet("fe80::1", "fe80::/64")).toBe(false);
    expect(inSubnet("10.0.1.300", "10.0.1.0/24")).toBe(false);
    expect(inSubnet("10.0.1.7", "10.0.1.0/33")).toBe(false);
    expect(inSubnet("10.0.1.7", "10.0.1.0")).toBe(false);
  });
});
