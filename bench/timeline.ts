import { lineAt, type TimedLine } from "./platform.js";

// Where a buildpack push spent its time, read from the streamed "remote:" lines and the
// moment each reached the pushing git process. The headings come from:
//   src/builder/pipeline.ts          "-----> Building <app> from commit <sha>"   (worker took the job)
//   templates/slug/compile.sh        "-----> <Name> app detected"                 (compile container runs)
//   buildpacks/nodejs/bin/compile    "-----> Restoring cache", "-----> Installing dependencies", ...
//   src/builder/buildpacks/build.ts  "-----> Building image <tag> on <run stack>"  (slug -> image)
//   src/builder/pipeline.ts          "-----> Process types: ..."                   (image built, release saved)
//   src/runtime/deploy.ts            "-----> Starting web.1 (vN)", "-----> Checking N new container(s)",
//                                    "-----> Traffic moved to vN"                  (logged right after the route moved)
//   src/runtime/release.ts           "-----> Released vN"                          (after the stay-up window; old ones drain after)

export interface Timeline {
  /** ms after the push began; null when the heading never came. */
  building: number | null;
  detected: number | null;
  restoringCache: number | null;
  /** The first buildpack heading after "Restoring cache" other than "Installing dependencies". */
  afterInstall: number | null;
  buildingImage: number | null;
  processTypes: number | null;
  starting: number | null;
  checking: number | null;
  /** The route table was switched: "Traffic moved" (older platforms: "Draining", else "Released"). */
  routed: number | null;
  released: number | null;
}

export function readTimeline(lines: TimedLine[]): Timeline {
  const t = (re: RegExp, from = 0) => lineAt(lines, re, from)?.t ?? null;
  const building = t(/^-----> Building \S+ from commit [0-9a-f]{7}/);
  const restoringCache = t(/^-----> Restoring cache/, building ?? 0);
  const afterInstall =
    restoringCache === null
      ? null
      : (lines.find(
          (l) =>
            l.t >= restoringCache &&
            /^-----> /.test(l.text) &&
            !/^-----> (Restoring cache|Installing dependencies)/.test(l.text),
        )?.t ?? null);
  const processTypes = t(/^-----> Process types:/, building ?? 0);
  const released = t(/^-----> Released v\d+/, processTypes ?? 0);
  return {
    building,
    detected: t(/^-----> .* app detected/, building ?? 0),
    restoringCache,
    afterInstall,
    buildingImage: t(/^-----> Building image /, building ?? 0),
    processTypes,
    starting: t(/^-----> Starting /, processTypes ?? 0),
    checking: t(/^-----> Checking /, processTypes ?? 0),
    routed:
      t(/^-----> Traffic moved to /, processTypes ?? 0) ??
      t(/^-----> Draining /, processTypes ?? 0) ??
      released,
    released,
  };
}

/** b - a in seconds, or null when either is missing. */
export function span(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : (b - a) / 1000;
}
