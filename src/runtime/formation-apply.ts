import type { Store } from "../store/index.js";
import type { Release } from "../store/releases.js";
import { explicitAfterScale, type FormationPlan, planFormation } from "./formation-rule.js";

// The formation rule (formation-rule.ts) over the store: what a release runs, and what a
// ps:scale records so that it wins over app.json formation on later deploys.

/** The formation a release goes live with; its notes go to the push output. */
export async function formationForRelease(
  store: Store,
  app: string,
  release: Release,
  log: (line: string) => void,
): Promise<FormationPlan> {
  const record = await store.apps.get(app as never);
  const plan = planFormation({
    current: await store.formation.get(app),
    processTypes: Object.keys(release.processTypes),
    appJson: release.appJson?.formation ?? {},
    explicit: await store.formation.explicit(app),
    firstDeploy: !record || record.release === 0,
  });
  const shown = Object.entries(plan.formation)
    .map(([t, n]) => `${t}=${n}`)
    .join(" ");
  log(`-----> Formation: ${shown || "(none)"}`);
  for (const note of plan.notes) log(`       ${note}`);
  return plan;
}

/**
 * Call where ps:scale applies a change: the scaled types win over app.json formation on
 * later deploys, until app.json declares a different quantity for them.
 */
export async function recordExplicitScale(
  store: Store,
  app: string,
  release: Release,
  scaledTypes: string[],
): Promise<void> {
  const before = await store.formation.explicit(app);
  await store.formation.setExplicit(
    app,
    explicitAfterScale(before, scaledTypes, release.appJson?.formation ?? {}),
  );
}
