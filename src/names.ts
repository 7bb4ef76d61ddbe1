import { invalid } from "./errors.js";

// App names become DNS labels, Docker names, image repositories, Redis keys and paths,
// so they are checked once at the edge and carried as a branded type after that.
export type AppName = string & { readonly __brand: "AppName" };

const APP_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;

export function parseAppName(raw: unknown): AppName {
  if (raw !== undefined && raw !== null && typeof raw !== "string") {
    throw invalid("app name must be a string of 3-30 characters: lower-case letters, digits and dashes");
  }
  if (typeof raw !== "string" || raw.length === 0) {
    throw invalid("app name is empty: give a name of 3-30 characters: lower-case letters, digits and dashes");
  }
  if (raw.length > 30 || raw.length < 3) {
    throw invalid(
      `app name "${printable(raw)}" must be 3-30 characters long (it is ${raw.length}); pick a ${raw.length < 3 ? "longer" : "shorter"} name`,
    );
  }
  if (!APP_NAME.test(raw) || raw.includes("--")) {
    throw invalid(
      `app name "${printable(raw)}" is invalid: use lower-case letters, digits and single dashes, starting with a letter and not ending with a dash`,
    );
  }
  return raw as AppName;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 60);
}

const ADJECTIVES = [
  "ancient",
  "brave",
  "calm",
  "clever",
  "cosmic",
  "crisp",
  "daring",
  "eager",
  "fancy",
  "gentle",
  "golden",
  "happy",
  "hidden",
  "jolly",
  "lively",
  "lucky",
  "mellow",
  "misty",
  "nimble",
  "proud",
  "quiet",
  "rapid",
  "shiny",
  "silent",
  "snowy",
  "sunny",
  "swift",
  "tidy",
  "vivid",
  "witty",
];
const NOUNS = [
  "badger",
  "beacon",
  "brook",
  "canyon",
  "cedar",
  "comet",
  "coral",
  "dawn",
  "falcon",
  "fjord",
  "forest",
  "garden",
  "glacier",
  "harbor",
  "island",
  "lagoon",
  "meadow",
  "mesa",
  "otter",
  "pebble",
  "prairie",
  "river",
  "sparrow",
  "summit",
  "thunder",
  "tundra",
  "valley",
  "willow",
  "wave",
  "zephyr",
];

/** A random readable name like Heroku's, e.g. "swift-otter-4821". */
export function randomAppName(rand: () => number = Math.random): AppName {
  const pick = (xs: string[]) => xs[Math.floor(rand() * xs.length)];
  const n = 1000 + Math.floor(rand() * 9000);
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${n}` as AppName;
}

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseConfigKey(raw: unknown): string {
  if (typeof raw !== "string" || !CONFIG_KEY.test(raw)) {
    throw invalid(
      `config key "${typeof raw === "string" ? printable(raw) : ""}" is invalid: use letters, digits and underscores, not starting with a digit`,
    );
  }
  return raw;
}
