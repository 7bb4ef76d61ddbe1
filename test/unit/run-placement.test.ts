import { describe, expect, it } from "vitest";
import { chooseNode, satisfies } from "../../src/runtime/run-relay/placement.js";
import type { RunNode, WorkerBeat } from "../../src/store/run-relay.js";

// Where a swarm one-off runs: placement constraints over the published nodes, live workers only.

const node = (hostname: string, extra: Partial<RunNode> = {}): RunNode => ({
  id: `id-${hostname}`,
  hostname,
  role: "worker",
  state: "ready",
  availability: "active",
  labels: {},
  tasks: 0,
  ...extra,
});
const now = 1_000_000;
const beat = (n: RunNode, at = now): WorkerBeat => ({ node: n.id, hostname: n.hostname, manager: false, at });

describe("run placement", () => {
  const a = node("a", { role: "manager", tasks: 3, labels: { zone: "x" } });
  const b = node("b", { tasks: 1, labels: { zone: "y" } });
  const c = node("c", { tasks: 2 });
  const nodes = [a, b, c];
  const beats = nodes.map((n) => beat(n));

  it("evaluates constraints as Swarm does (a missing label never equals)", () => {
    expect(satisfies(a, "node.hostname==a")).toBe(true);
    expect(satisfies(a, "node.role!=manager")).toBe(false);
    expect(satisfies(b, "node.labels.zone==y")).toBe(true);
    expect(satisfies(c, "node.labels.zone==y")).toBe(false);
    expect(satisfies(c, "node.labels.zone!=y")).toBe(true);
    expect(satisfies(a, "node.id==id-a")).toBe(true);
  });

  it("picks the node with the fewest tasks among those with a live worker, honouring constraints", () => {
    expect(chooseNode(nodes, beats, [], now).hostname).toBe("b");
    expect(chooseNode(nodes, beats, ["node.role==manager"], now).hostname).toBe("a");
    expect(chooseNode(nodes, beats, ["node.labels.zone!=y"], now).hostname).toBe("c");
    // b's worker is silent: the next one.
    expect(chooseNode(nodes, [beat(a), beat(b, now - 60_000), beat(c)], [], now).hostname).toBe("c");
    // A drained node takes none.
    expect(chooseNode([a, { ...b, availability: "drain" }, c], beats, [], now).hostname).toBe("c");
  });

  it("names the node and what to run there when it has no live worker", () => {
    expect(() => chooseNode(nodes, [beat(a), beat(c)], ["node.hostname==b"], now)).toThrow(
      /no paas worker is running on node b.*paas server --roles worker/,
    );
    expect(() => chooseNode(nodes, beats, ["node.hostname==zz"], now)).toThrow(
      /no node matching node.hostname==zz/,
    );
    expect(() => chooseNode(null, [], [], now)).toThrow(/no worker is running/);
  });

  it("without a published nodes list, uses the nodes of the live workers", () => {
    expect(chooseNode(null, [beat(b), beat(c)], [], now).hostname).toBe("b");
  });
});
