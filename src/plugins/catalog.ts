// The trigger catalog: every point where the platform asks plugins, in one typed table.
// The README's "Trigger catalog" section is generated from TRIGGERS (catalogMarkdown(), checked
// by test/unit/plugins-catalog.test.ts), so the two cannot drift. Contract version: 1.
//
// A trigger is fired with a JSON payload (TriggerArgs). A TypeScript/JS plugin gets it as
// the first argument of its handler; an executable gets the `argv` fields as arguments, in
// order, and the whole payload as JSON on stdin. A veto-able trigger runs before anything
// changes: a handler that throws (or an executable that exits non-zero) stops the operation
// with its message. Failures of the other triggers are reported and do not stop anything,
// except `container-env`, whose result a container needs: its failure fails the deploy the
// way a failed check does (the old release keeps serving).

export const CATALOG_VERSION = 1;

/** A mount a plugin asks for: a platform-made named volume, or (admin-only) a host path. */
export interface MountSpec {
  /** Volume name (created and labelled by the platform) or an absolute host path. */
  source: string;
  target: string;
  type: "volume" | "bind";
  readOnly?: boolean;
}

/** A network a container joins, with the DNS names it answers to there. */
export interface NetworkSpec {
  name: string;
  aliases?: string[];
  /**
   * The container's own network, instead of Docker's default bridge (the network plugin's app
   * network). Without one, the container stays on the bridge and joins the others after create.
   */
  primary?: boolean;
}

/** What `container-env` returns: merged over every plugin, in plugin order. */
export interface ContainerEnvResult {
  env?: Record<string, string>;
  mounts?: MountSpec[];
  networks?: NetworkSpec[];
}

/** What `ps-report` returns: extra cells per container name, and lines under the table. */
export interface PsReportResult {
  columns?: Record<string, Record<string, string>>;
  lines?: string[];
}

export interface TriggerArgs {
  "app-create": { app: string };
  "app-destroy": { app: string };
  "app-rename": { app: string; from: string };
  "pre-build": { app: string; buildId: string; commit: string };
  "post-build": { app: string; buildId: string; commit: string; image: string };
  "pre-release": { app: string; version: number; image: string; description: string };
  "post-release": { app: string; version: number; image: string };
  "pre-deploy": { app: string; version: number; image: string; config: Record<string, string> };
  "post-deploy": { app: string; version: number; image: string; formation: Record<string, number> };
  "config-change": { app: string; set: string[]; unset: string[] };
  scale: { app: string; formation: Record<string, number> };
  "container-env": { app: string; type: string; index: number; kind: "process" | "oneoff"; version: number };
  "ps-report": { app: string; processes: { name: string; type: string; state: string }[] };
  reconcile: { interval: number };
}

export type TriggerName = keyof TriggerArgs;

export interface TriggerResults {
  "container-env": ContainerEnvResult;
  "ps-report": PsReportResult;
}

/** What a handler of trigger T may return (undefined for those that return nothing). */
export type TriggerResult<T extends TriggerName> = T extends keyof TriggerResults
  ? TriggerResults[T]
  : undefined;

export interface TriggerDef {
  name: TriggerName;
  /** Payload fields passed to executables as argv, in this order. */
  argv: string[];
  /** The payload's fields, as documented. */
  args: string;
  /** A failure stops the operation with the plugin's message (nothing has changed yet). */
  veto: boolean;
  /** What a handler returns (JSON on an executable's stdout), if anything. */
  returns?: string;
  description: string;
}

export const TRIGGERS: readonly TriggerDef[] = [
  {
    name: "app-create",
    argv: ["app"],
    args: "`{app}`",
    veto: false,
    description: "An app was created (`apps:create`).",
  },
  {
    name: "app-destroy",
    argv: ["app"],
    args: "`{app}`",
    veto: false,
    description: "An app's containers are gone and its state is about to be removed (`apps:destroy`).",
  },
  {
    name: "app-rename",
    argv: ["from", "app"],
    args: "`{app, from}` (app: the new name)",
    veto: false,
    description:
      "An app was renamed (`apps:rename`): its platform state is under the new name and its containers are about to start under it; plugins move what they keep by app name.",
  },
  {
    name: "pre-build",
    argv: ["app", "buildId", "commit"],
    args: "`{app, buildId, commit}`",
    veto: true,
    description: "A push is about to be built. A veto rejects the push before the build starts.",
  },
  {
    name: "post-build",
    argv: ["app", "buildId", "image"],
    args: "`{app, buildId, commit, image}`",
    veto: true,
    description:
      "The image is built and nothing runs from it yet. A veto rejects the push (image scanning's `block`).",
  },
  {
    name: "pre-release",
    argv: ["app", "version", "image"],
    args: "`{app, version, image, description}`",
    veto: true,
    description:
      "Release vN (a deploy, config change or rollback) is about to go out. A veto stops it; the old release keeps serving.",
  },
  {
    name: "post-release",
    argv: ["app", "version", "image"],
    args: "`{app, version, image}`",
    veto: false,
    description: "Release vN is live and recorded as current (just before post-deploy).",
  },
  {
    name: "pre-deploy",
    argv: ["app", "version", "image"],
    args: "`{app, version, image, config}` (config: the release's vars)",
    veto: true,
    description:
      "Release vN's containers are about to start. A veto stops the deploy; the old release keeps serving.",
  },
  {
    name: "post-deploy",
    argv: ["app", "version", "image"],
    args: "`{app, version, image, formation}`",
    veto: false,
    description:
      "Release vN's containers took the traffic and stayed up through the uptime window: the push's last step (its output shows in the push).",
  },
  {
    name: "config-change",
    argv: ["app"],
    args: "`{app, set, unset}` (key names only, never values)",
    veto: false,
    description: "Config vars were set or unset (fired before the new release goes out).",
  },
  {
    name: "scale",
    argv: ["app"],
    args: "`{app, formation}`",
    veto: false,
    description: "The formation changed (`ps:scale`).",
  },
  {
    name: "container-env",
    argv: ["app", "type", "index"],
    args: "`{app, type, index, kind, version}` (kind: process or oneoff)",
    veto: false,
    returns:
      "`{env?, mounts?: [{source, target, type: volume|bind}], networks?: [{name, aliases?, primary?}]}`",
    description:
      "A container is about to be created. Results of every plugin are merged into its plan; a failure fails the deploy before the container starts.",
  },
  {
    name: "ps-report",
    argv: ["app"],
    args: "`{app, processes: [{name, type, state}]}`",
    veto: false,
    returns: "`{columns?: {<container>: {<column>: value}}, lines?: [...]}`",
    description: "`paas ps` asks for extra columns per container and lines under the table.",
  },
  {
    name: "reconcile",
    argv: ["interval"],
    args: "`{interval}` (seconds until the next pass)",
    veto: false,
    description:
      "A worker's reconcile pass (at start and every `PAAS_RECONCILE_INTERVAL`): plugins bring back the containers they own (add-on services) if they are gone or stopped.",
  },
];

export const TRIGGER_NAMES: readonly TriggerName[] = TRIGGERS.map((t) => t.name);

export function triggerDef(name: string): TriggerDef | undefined {
  return TRIGGERS.find((t) => t.name === name);
}

export const CATALOG_BEGIN = "<!-- trigger-catalog:begin (generated from src/plugins/catalog.ts) -->";
export const CATALOG_END = "<!-- trigger-catalog:end -->";

/** The README's catalog section, between (and including) the markers. */
export function catalogMarkdown(): string {
  const rows = TRIGGERS.map(
    (t) =>
      `| \`${t.name}\` | ${t.argv.join(" ")} | ${t.args} | ${t.veto ? "yes" : "no"} | ${t.returns ?? "—"} | ${t.description} |`,
  );
  return [
    CATALOG_BEGIN,
    `Catalog version ${CATALOG_VERSION}.`,
    "",
    "| trigger | executable argv | payload (JSON on stdin) | may veto | returns (JSON on stdout) | when |",
    "|---|---|---|---|---|---|",
    ...rows,
    CATALOG_END,
  ].join("\n");
}
