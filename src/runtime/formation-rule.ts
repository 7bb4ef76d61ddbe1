import type { FormationEntry } from "../app-json/app-json.js";
import type { ExplicitScales, Formation } from "../store/formation.js";

// Which containers a release runs: Heroku's and Dokku's defaults, app.json `formation`, and
// the user's own `ps:scale`, as one pure rule.
//
// - `release` is a one-off command, never a process type.
// - A type new to the app starts at 0, except web, which starts at 1 (Heroku's first deploy
//   runs web=1 and nothing else; Dokku's default quantity is 1 for web, 0 for the rest).
// - A type the app already has keeps its count; a type the release no longer has is scaled away.
// - app.json formation.<type>.quantity is applied on every deploy (as Dokku does), unless the
//   user ran `ps:scale <type>=N` since that quantity was declared: the newer wish wins. A
//   scale records the quantity app.json declared at that moment; once the declaration changes
//   (or goes away and comes back), app.json wins again.

export type { ExplicitScales, Formation };

export interface FormationInput {
  /** The persisted formation (empty before the first deploy). */
  current: Formation;
  /** The release's process types (may include `release`). */
  processTypes: string[];
  /** app.json `formation`. */
  appJson: Record<string, FormationEntry>;
  explicit: ExplicitScales;
  firstDeploy: boolean;
}

export interface FormationPlan {
  formation: Formation;
  /** Explicit scales still in force (for types that still exist). */
  explicit: ExplicitScales;
  /** Lines for the push output. */
  notes: string[];
}

export function planFormation(input: FormationInput): FormationPlan {
  const types = [...new Set(input.processTypes.filter((t) => t !== "release"))].sort();
  const formation: Formation = {};
  const explicit: ExplicitScales = {};
  const notes: string[] = [];
  for (const type of types) {
    const declared = input.appJson[type]?.quantity;
    const scaledByHand = Object.hasOwn(input.explicit, type);
    if (scaledByHand && input.explicit[type] === (declared ?? null) && type in input.current) {
      formation[type] = input.current[type];
      explicit[type] = input.explicit[type];
      if (declared !== undefined && declared !== input.current[type]) {
        notes.push(
          `${type}=${input.current[type]} (set with ps:scale) wins over app.json formation ${type}.quantity=${declared}`,
        );
      }
    } else if (declared !== undefined) {
      formation[type] = declared;
    } else if (type in input.current) {
      formation[type] = input.current[type];
    } else {
      formation[type] = type === "web" ? 1 : 0;
    }
  }

  const gone = Object.keys(input.current).filter((t) => !types.includes(t) && input.current[t] > 0);
  if (gone.length > 0) notes.push(`scaled away (no longer in the release): ${gone.join(", ")}`);
  for (const t of Object.keys(input.appJson)) {
    if (!types.includes(t))
      notes.push(`app.json formation names "${t}", which is not a process type: ignored`);
  }
  const idle = types.filter((t) => formation[t] === 0);
  if (!types.includes("web")) {
    notes.push(
      idle.length > 0
        ? `no web process type: nothing is routed; start the others with \`paas ps:scale ${idle[0]}=1\``
        : "no web process type: nothing is routed",
    );
  } else if (idle.length > 0 && (input.firstDeploy || idle.some((t) => !(t in input.current)))) {
    notes.push(`${idle.join(", ")} at 0: start with \`paas ps:scale ${idle[0]}=1\``);
  }
  if (types.every((t) => formation[t] === 0)) notes.push("no process is running");
  return { formation, explicit, notes };
}

/** What a `ps:scale` records: the scaled types with the app.json quantity then declared. */
export function explicitAfterScale(
  before: ExplicitScales,
  scaledTypes: string[],
  appJson: Record<string, FormationEntry>,
): ExplicitScales {
  const out = { ...before };
  for (const t of scaledTypes) out[t] = appJson[t]?.quantity ?? null;
  return out;
}

/**
 * Dokku's max_parallel: the slots a deploy starts and checks together, in order. Types
 * without max_parallel all go in the first batch (as before); a type with max_parallel N is
 * started N at a time, each batch passing its checks before the next starts.
 */
export function startBatches<S extends { type: string }>(
  slots: S[],
  appJson: Record<string, FormationEntry>,
): S[][] {
  const first: S[] = [];
  const byType = new Map<string, S[]>();
  for (const s of slots) {
    const n = appJson[s.type]?.maxParallel;
    if (!n) first.push(s);
    else byType.set(s.type, [...(byType.get(s.type) ?? []), s]);
  }
  const batches: S[][] = [];
  for (const [type, list] of byType) {
    const n = appJson[type]?.maxParallel ?? list.length;
    for (let i = 0; i < list.length; i += n) {
      const chunk = list.slice(i, i + n);
      if (batches.length === 0) batches.push([...first, ...chunk]);
      else batches.push(chunk);
    }
  }
  if (batches.length === 0 && first.length > 0) batches.push(first);
  return batches;
}
