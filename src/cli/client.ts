import { type ErrorCode, PaasError } from "../errors.js";

// The CLI's only way to the platform: the REST API over HTTP. Every failure (refused
// connection, an error answer, something that is not the paas API at all) becomes one
// PaasError with a one-line message the top-level catch can print.

export interface Release {
  version: string;
  description?: string;
  /** "pending", "succeeded" or "failed". */
  status?: string;
  createdAt?: string;
  user?: string;
  image?: string;
  commit?: string | null;
  /** The release the app runs now (not always the newest: a newer one may have failed). */
  current?: boolean;
}

export interface ReleaseInfo extends Release {
  configKeys?: string[];
  formation?: Formation;
  processTypes?: Record<string, string>;
}

/** Containers wanted per process type, e.g. {web: 2, worker: 1}. */
export type Formation = Record<string, number>;

/** What `ps:scale` asks for per process type: "3" sets the count, "+1" and "-1" change it. */
export type FormationChange = Record<string, string>;

export interface Proc {
  name: string;
  type: string;
  index?: number;
  /** "up", "starting", "crashed", "restarting", "stopped", or "draining" (an old release finishing its requests). */
  state: string;
  release: string | null;
  command: string | null;
  startedAt: string | null;
  restarts: number;
  port: number | null;
  container?: string | null;
  /** Swarm mode: the node the task runs on. */
  node?: string;
}

/** Memory like "512m" and CPUs like 0.5; null is no limit (or, for a type, the default). */
export interface Limits {
  memory: string | null;
  cpu: number | null;
}

export interface Resources {
  defaults: Limits;
  types: Record<string, Limits>;
}

export interface ResourcesChange {
  type?: string;
  memory?: string;
  cpu?: number;
}

/** null: a Dockerfile wins if the repo has one, buildpacks otherwise. */
export type Builder = "dockerfile" | "buildpacks" | null;

export interface Buildpacks {
  buildpacks: string[];
  builder: Builder;
}

export interface StackImage {
  image: string;
  version: string;
  /** Tool versions, e.g. {node: "18.19.0", python: "3.11.2"}. */
  installed?: Record<string, string>;
}

export interface Stack {
  build: StackImage | null;
  run: StackImage | null;
}

export interface App {
  name: string;
  url: string;
  gitUrl: string;
  createdAt: string;
  release?: Release | null;
}

export interface AppInfo extends App {
  processes?: Proc[];
  /** Who may use it (servers with users). */
  owner?: string;
  collaborators?: string[];
}

export type ConfigVars = Record<string, string>;

/** A scheduled job from app.json `cron`, as GET /apps/:app/cron lists it. */
export interface CronJobInfo {
  id: string;
  command: string;
  schedule: string;
  concurrencyPolicy: string;
  maintenance: boolean;
  nextRun: string | null;
  lastRun: {
    scheduledAt: string;
    startedAt: string;
    finishedAt: string | null;
    exitCode: number | null;
    durationMs: number | null;
    dyno: string | null;
    outcome: string;
    message?: string;
  } | null;
}

type Fetch = typeof globalThis.fetch;

const KNOWN_CODES = new Set<string>([
  "invalid_input",
  "unauthorized",
  "not_found",
  "conflict",
  "build_failed",
  "deploy_failed",
  "unavailable",
  "internal",
]);

export class ApiClient {
  readonly api: string;
  private readonly token: string;
  private readonly fetchFn: Fetch;

  /** `api` is the server's base URL (e.g. http://127.0.0.1:5100), without /api/v1. */
  constructor(api: string, token: string, fetchFn: Fetch = globalThis.fetch) {
    this.api = api.replace(/\/+$/, "");
    this.token = token;
    this.fetchFn = fetchFn;
  }

  whoami(): Promise<{ user: unknown }> {
    return this.json("GET", "/whoami");
  }

  listApps(): Promise<App[]> {
    return this.json("GET", "/apps");
  }

  createApp(name?: string): Promise<App> {
    return this.json("POST", "/apps", name ? { name } : {});
  }

  getApp(app: string): Promise<AppInfo> {
    return this.json("GET", `/apps/${seg(app)}`);
  }

  destroyApp(app: string, confirm: string): Promise<{ destroyed: string }> {
    return this.json("DELETE", `/apps/${seg(app)}?confirm=${encodeURIComponent(confirm)}`);
  }

  getConfig(app: string): Promise<ConfigVars> {
    return this.json("GET", `/apps/${seg(app)}/config`);
  }

  /** Set (string) and unset (null) config vars; resolves when the app has restarted. */
  updateConfig(app: string, patch: Record<string, string | null>): Promise<ConfigVars> {
    return this.json("PATCH", `/apps/${seg(app)}/config`, patch);
  }

  ps(app: string): Promise<Proc[]> {
    return this.json("GET", `/apps/${seg(app)}/ps`);
  }

  releases(app: string, num?: number): Promise<Release[]> {
    return this.json("GET", `/apps/${seg(app)}/releases${num ? `?num=${num}` : ""}`);
  }

  /** `version` is "v3" or "current". */
  release(app: string, version: string): Promise<ReleaseInfo> {
    return this.json("GET", `/apps/${seg(app)}/releases/${seg(version)}`);
  }

  /** Deploys a copy of an older release (default: the one before the current); takes minutes. */
  rollback(app: string, version?: string): Promise<{ version: string; rolledBackTo: string }> {
    return this.json("POST", `/apps/${seg(app)}/releases/rollback`, version ? { version } : {});
  }

  /** The release's build and release-phase log, as plain text. */
  async releaseOutput(app: string, version: string): Promise<string> {
    const res = await this.send("GET", `/apps/${seg(app)}/releases/${seg(version)}/output`);
    return res.text();
  }

  formation(app: string): Promise<Formation> {
    return this.json("GET", `/apps/${seg(app)}/formation`);
  }

  scale(app: string, change: FormationChange): Promise<{ formation: Formation }> {
    return this.json("PATCH", `/apps/${seg(app)}/formation`, change);
  }

  /** Restart every process, one type ("web") or one process ("web.1"). */
  restart(app: string, target?: string): Promise<{ restarted: string[] }> {
    return this.json("POST", `/apps/${seg(app)}/ps/restart`, target ? { target } : {});
  }

  stop(app: string, target: string): Promise<{ stopped: string }> {
    return this.json("POST", `/apps/${seg(app)}/ps/stop`, { target });
  }

  resources(app: string): Promise<Resources> {
    return this.json("GET", `/apps/${seg(app)}/resources`);
  }

  setResources(app: string, change: ResourcesChange): Promise<unknown> {
    return this.json("PATCH", `/apps/${seg(app)}/resources`, change);
  }

  checks(app: string): Promise<{ enabled: boolean }> {
    return this.json("GET", `/apps/${seg(app)}/checks`);
  }

  setChecks(app: string, enabled: boolean): Promise<unknown> {
    return this.json("PUT", `/apps/${seg(app)}/checks`, { enabled });
  }

  buildpacks(app: string): Promise<Buildpacks> {
    return this.json("GET", `/apps/${seg(app)}/buildpacks`);
  }

  /** Replaces the whole list; an empty list means detect on each push. */
  setBuildpacks(app: string, buildpacks: string[]): Promise<unknown> {
    return this.json("PUT", `/apps/${seg(app)}/buildpacks`, { buildpacks });
  }

  setBuilder(app: string, builder: Builder): Promise<unknown> {
    return this.json("PUT", `/apps/${seg(app)}/builder`, { builder });
  }

  purgeCache(app: string): Promise<{ purged: boolean }> {
    return this.json("DELETE", `/apps/${seg(app)}/cache`);
  }

  stack(): Promise<Stack> {
    return this.json("GET", "/stack");
  }

  /** Rebuilds the build and run stack images; answers when both are built (minutes). */
  buildStack(): Promise<{ build: string; run: string }> {
    return this.json("POST", "/stack/build");
  }

  /** Start a one-off in the background (`paas run --detach`); attached runs use a websocket (run-session.ts). */
  runDetached(
    app: string,
    body: { command: string; env: Record<string, string>; memory?: string },
  ): Promise<{ dyno: string; release: string }> {
    return this.json("POST", `/apps/${seg(app)}/run`, body);
  }

  cronJobs(app: string): Promise<CronJobInfo[]> {
    return this.json("GET", `/apps/${seg(app)}/cron`);
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new PaasError(
        "internal",
        `the server at ${this.api} sent an answer that is not JSON to ${method} /api/v1${path} (is ${this.api} the paas API?)`,
      );
    }
  }

  /** One request; resolves only for 2xx answers, everything else becomes a PaasError. */
  async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: "application/json",
      "user-agent": "paas-cli",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      // No timeout of our own: config changes wait for the app to restart, which can take
      // minutes. (Node's fetch still gives up after 5 minutes without response headers.)
      res = await this.fetchFn(`${this.api}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (causeOf(err)?.code === "UND_ERR_HEADERS_TIMEOUT") {
        // Node's fetch stops waiting for an answer after 5 minutes.
        throw new PaasError(
          "unavailable",
          `the paas API at ${this.api} did not answer ${method} /api/v1${path} within 5 minutes; it may still be working on it`,
        );
      }
      throw new PaasError(
        "unavailable",
        `cannot reach the paas API at ${this.api}: ${reason(err)} (is \`paas server\` running?)`,
      );
    }
    if (res.ok) return res;
    throw await errorFrom(res, this.api);
  }
}

function seg(part: string): string {
  return encodeURIComponent(part);
}

async function errorFrom(res: Response, api: string): Promise<PaasError> {
  const text = await res.text().catch(() => "");
  const parsed = parseErrorBody(text);
  if (parsed) {
    const code = (KNOWN_CODES.has(parsed.code) ? parsed.code : "internal") as ErrorCode;
    const details = [...parsed.details];
    if (res.status === 401 && !parsed.message.includes("paas login")) {
      details.push("log in again: paas login --api URL --token TOKEN");
    }
    return new PaasError(code, parsed.message, details.length ? details : undefined);
  }
  const status = `${res.status} ${res.statusText}`.trim();
  const snippet = firstLine(text);
  const said = snippet && !snippet.includes(status) ? `: ${snippet}` : "";
  return new PaasError(
    res.status === 401 ? "unauthorized" : "internal",
    `the server at ${api} answered ${status}${said} (is ${api} the paas API?)`,
  );
}

/** The API's error envelope: {"error": {"code", "message", "details"?}}; null for anything else. */
export function parseErrorBody(text: string): { code: string; message: string; details: string[] } | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const error = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  if (!error || typeof error !== "object" || typeof error.message !== "string") return null;
  const details = Array.isArray(error.details) ? error.details.map((d) => String(d)) : [];
  return { code: typeof error.code === "string" ? error.code : "internal", message: error.message, details };
}

function firstLine(text: string): string {
  const line =
    text
      .replace(/<[^>]*>/g, " ")
      .replace(/[ \t]+/g, " ")
      .trim()
      .split("\n")[0]
      ?.trim() ?? "";
  return line.length > 120 ? line.slice(0, 117) + "..." : line;
}

function causeOf(err: unknown): { code?: string; message?: string } | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause && typeof cause === "object" ? (cause as { code?: string; message?: string }) : undefined;
}

/** The most useful one-line reason of a fetch failure (fetch hides it in `cause`). */
function reason(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause;
  // "localhost" resolves to ::1 and 127.0.0.1; node then reports both failures at once.
  if (cause instanceof AggregateError && cause.errors.length) {
    return cause.errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
  }
  const { code, message } = causeOf(err) ?? {};
  if (message) return message;
  if (code) return code;
  return err instanceof Error ? err.message : String(err);
}
