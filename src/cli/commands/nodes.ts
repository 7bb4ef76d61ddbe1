import type { Command } from "commander";
import { invalid } from "../../errors.js";
import type { Proc } from "../client.js";
import { appOf, type Cli, clientOf, progress, withAppOption } from "../context.js";
import { formatTable, heading, json } from "../output.js";

// Swarm mode: the cluster's nodes and where an app's processes may run.

interface NodeRow {
  id: string;
  hostname: string;
  role: string;
  state: string;
  availability: string;
  address: string;
  labels: Record<string, string>;
  leader: boolean;
  tasks: number;
}

/** `paas ps` in swarm mode: a NODE column after NAME when processes say where they run. */
export function withNodeColumn(table: [string[], string[][]], processes: Proc[]): [string[], string[][]] {
  if (!processes.some((p) => p.node)) return table;
  const [headers, rows] = table;
  return [
    [headers[0], "NODE", ...headers.slice(1)],
    rows.map((r, i) => [r[0], processes[i]?.node ?? "-", ...r.slice(1)]),
  ];
}

export function nodeRows(nodes: NodeRow[]): [string[], string[][]] {
  const rows = nodes.map((n) => [
    n.hostname,
    n.leader ? `${n.role} (leader)` : n.role,
    n.state,
    n.availability,
    String(n.tasks),
    Object.entries(n.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "-",
    n.id.slice(0, 12),
  ]);
  return [["NODE", "ROLE", "STATE", "AVAILABILITY", "TASKS", "LABELS", "ID"], rows];
}

export function registerNodes(program: Command, cli: Cli): void {
  program
    .command("nodes")
    .description("list the swarm's nodes: role, state, availability, labels, task count (swarm mode)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const nodes = await clientOf(cli).json<NodeRow[]>("GET", "/nodes");
      if (opts.json) return cli.io.out(json(nodes));
      for (const line of formatTable(...nodeRows(nodes))) cli.io.out(line);
    });
  for (const action of ["drain", "activate"] as const) {
    program
      .command(`nodes:${action} <node>`)
      .description(
        action === "drain"
          ? "move every task off a node and place none there (maintenance)"
          : "let a drained node take tasks again",
      )
      .action(async (node: string) => {
        const client = clientOf(cli);
        await progress(cli.io, `${action === "drain" ? "Draining" : "Activating"} ${node}`, () =>
          client.json("POST", `/nodes/${encodeURIComponent(node)}/${action}`),
        );
      });
  }
  program
    .command("nodes:join-command")
    .description("print what a new host runs to join the swarm as a worker (or --manager)")
    .option("--manager", "the command for a new manager")
    .action(async (opts: { manager?: boolean }) => {
      const cmd = await clientOf(cli).json<{ worker: string; manager: string }>("GET", "/nodes/join-command");
      cli.io.out(opts.manager ? cmd.manager : cmd.worker);
    });
  withAppOption(program.command("ps:placement [type] [constraints...]"))
    .description(
      "show or set where a process type may run, e.g. ps:placement web node.labels.zone==a (swarm mode)",
    )
    .option("--clear", "remove the type's constraints")
    .option("--json", "print JSON")
    .action(
      async (
        type: string | undefined,
        constraints: string[],
        opts: { app?: string; clear?: boolean; json?: boolean },
      ) => {
        const app = await appOf(cli, opts.app);
        const client = clientOf(cli);
        let placement: Record<string, string[]>;
        if (type === undefined) {
          placement = await client.json("GET", `/apps/${app}/placement`);
        } else {
          if (constraints.length === 0 && !opts.clear) {
            throw invalid("give one or more constraints (node.labels.zone==a) or --clear");
          }
          const put = () =>
            client.json<Record<string, string[]>>("PUT", `/apps/${app}/placement`, {
              type,
              constraints: opts.clear ? [] : constraints,
            });
          placement = opts.json ? await put() : await progress(cli.io, `Placing ${type} of ${app}`, put);
        }
        if (opts.json) return cli.io.out(json(placement));
        cli.io.out(heading(`${app} Placement`));
        const types = Object.entries(placement);
        if (types.length === 0) cli.io.out("(any node)");
        for (const [t, cs] of types) cli.io.out(`${t}: ${cs.join(" && ")}`);
      },
    );
}
