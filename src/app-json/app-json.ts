import { BuildFailed } from "../errors.js";
import { type HealthCheck, parseHealthchecks } from "./checks.js";
import { type CronJob, parseCronEntries } from "./cron-spec.js";
import { parseJsonc } from "./jsonc.js";

// The parts of app.json the platform acts on (Dokku-compatible): health checks per process
// type, deployment scripts, formation and cron. Read as JSONC (comments and trailing commas,
// as Dokku allows), parsed once at build time and stored on the release.

export type { HealthCheck, HealthCheckType } from "./checks.js";

export interface AppJsonScripts {
  /** scripts.dokku.predeploy (or scripts.predeploy): after the build; changes committed to the image. */
  predeploy?: string;
  /** scripts.dokku.postdeploy: after every deploy is live; changes not kept. */
  postdeploy?: string;
  /** scripts.postdeploy (Heroku's and Dokku's meaning): once, after the app's first deploy. */
  postdeployOnce?: string;
}

/** app.json `formation` for one process type (Dokku's keys). */
export interface FormationEntry {
  quantity?: number;
  /** Dokku's max_parallel: containers replaced at a time in a rolling deploy. */
  maxParallel?: number;
}

export interface AppJson {
  healthchecks: Record<string, HealthCheck[]>;
  scripts: AppJsonScripts;
  formation?: Record<string, FormationEntry>;
  /** Scheduled jobs (Dokku's `cron`), parsed in cron-spec.ts. */
  cron?: CronJob[];
  /** What was accepted but ignored, for the build output. */
  warnings?: string[];
}

export const EMPTY_APP_JSON: AppJson = { healthchecks: {}, scripts: {} };

/** Most containers of one type app.json may ask for (as ps:scale allows). */
export const MAX_QUANTITY = 20;

export function parseAppJson(text: string): AppJson {
  const parsed = parseJsonc(text, "app.json");
  if (!parsed.ok) throw new BuildFailed(`${parsed.error}; fix it and push again`);
  const raw = parsed.value;
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new BuildFailed("app.json must hold a JSON object");
  const obj = raw as { healthchecks?: unknown; scripts?: unknown; formation?: unknown; cron?: unknown };
  const warnings: string[] = [];
  const out: AppJson = {
    healthchecks: parseHealthchecks(obj.healthchecks),
    scripts: parseScripts(obj.scripts),
  };
  const formation = parseFormation(obj.formation, warnings);
  if (formation) out.formation = formation;
  const cron = parseCronEntries(obj.cron);
  if (cron.length > 0) out.cron = cron;
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

function command(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new BuildFailed(`app.json: ${where} must be a command string`);
  return v;
}

function parseScripts(raw: unknown): AppJsonScripts {
  if (raw === undefined) return {};
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new BuildFailed("app.json: scripts must be an object");
  const s = raw as Record<string, unknown>;
  let dokku: Record<string, unknown> = {};
  if (s.dokku !== undefined) {
    if (!s.dokku || typeof s.dokku !== "object" || Array.isArray(s.dokku))
      throw new BuildFailed('app.json: scripts.dokku must be an object, e.g. {"predeploy": "..."}');
    dokku = s.dokku as Record<string, unknown>;
  }
  const out: AppJsonScripts = {};
  const predeploy =
    command(dokku.predeploy, "scripts.dokku.predeploy") ?? command(s.predeploy, "scripts.predeploy");
  const postdeploy = command(dokku.postdeploy, "scripts.dokku.postdeploy");
  const once = command(s.postdeploy, "scripts.postdeploy");
  if (predeploy) out.predeploy = predeploy;
  if (postdeploy) out.postdeploy = postdeploy;
  if (once) out.postdeployOnce = once;
  return out;
}

function parseFormation(raw: unknown, warnings: string[]): Record<string, FormationEntry> | undefined {
  if (raw === undefined) return undefined;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new BuildFailed(
      'app.json: formation must map process types to settings, e.g. {"web": {"quantity": 1}}',
    );
  }
  const out: Record<string, FormationEntry> = {};
  for (const [type, v] of Object.entries(raw as Record<string, unknown>)) {
    const where = `formation.${type}`;
    if (!v || typeof v !== "object" || Array.isArray(v))
      throw new BuildFailed(`app.json: ${where} must be an object, e.g. {"quantity": 1}`);
    if (type === "release") {
      warnings.push(
        "app.json formation.release is ignored: release is a one-off command, not a process type",
      );
      continue;
    }
    const e = v as Record<string, unknown>;
    const entry: FormationEntry = {};
    if (e.quantity !== undefined) {
      const q = e.quantity;
      if (typeof q !== "number" || !Number.isInteger(q) || q < 0 || q > MAX_QUANTITY)
        throw new BuildFailed(`app.json: ${where}.quantity must be a whole number from 0 to ${MAX_QUANTITY}`);
      entry.quantity = q;
    }
    if (e.max_parallel !== undefined) {
      const m = e.max_parallel;
      if (typeof m !== "number" || !Number.isInteger(m) || m < 1)
        throw new BuildFailed(`app.json: ${where}.max_parallel must be a whole number of 1 or more`);
      entry.maxParallel = m;
    }
    if (e.size !== undefined) {
      // Heroku dyno sizes do not map onto a memory limit a user would expect here: say so,
      // and point at the setting that does it.
      warnings.push(
        `app.json ${where}.size (${JSON.stringify(e.size)}) is ignored: set limits with \`paas resources:set --memory 512m ${type}\``,
      );
    }
    for (const k of ["autoscaling", "service"]) {
      if (e[k] !== undefined) warnings.push(`app.json ${where}.${k} is not supported here and is ignored`);
    }
    out[type] = entry;
  }
  return out;
}
