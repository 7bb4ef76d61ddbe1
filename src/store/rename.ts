import type { Redis } from "ioredis";
import { conflict } from "../errors.js";
import type { Keys } from "./keys.js";
import type { Release } from "./releases.js";
import type { RouteEntry } from "./routes.js";

// apps:rename, the state half: every key of the app moves to the new name in one MULTI.
// Keys are found from Keys itself, so a per-app key added later moves too without a change
// here: every one-argument key function is an app's key except the few listed below, and
// every argument-less key that is a set or hash is checked for the old name as a member,
// a field or (domain owners) a value.

/** One-argument keys that are not an app's: per build, token, user or address, and the lock (held by the renamer). */
const NOT_PER_APP = new Set(["build", "buildLog", "acmeChallenge", "lock", "userTokens", "authFailures"]);
/** Argument-less keys that never name apps: channels and bullmq's prefix. */
const NOT_INDEXES = new Set(["routeChannel", "certChannel", "bullPrefix"]);

type KeyFn = (...args: string[]) => string;

function keyFunctions(keys: Keys): [string, KeyFn][] {
  return Object.entries(keys).filter((e): e is [string, KeyFn] => typeof e[1] === "function");
}

/** The app's own keys, old name -> new name (whether or not they exist). */
export function perAppKeys(keys: Keys, from: string, to: string): [string, string][] {
  return keyFunctions(keys)
    .filter(([name, fn]) => fn.length === 1 && !NOT_PER_APP.has(name))
    .map(([, fn]) => [fn(from), fn(to)] as [string, string])
    .filter(([a, b]) => a.endsWith(`:${from}`) && b.endsWith(`:${to}`));
}

/** Keys that list apps (sets, hashes), checked for the old name. */
export function indexKeys(keys: Keys): string[] {
  return keyFunctions(keys)
    .filter(([name, fn]) => fn.length === 0 && !NOT_INDEXES.has(name))
    .map(([, fn]) => fn());
}

/**
 * Move an app's state from `from` to `to`. Release records get their image references from
 * `images` (old tag -> new tag); the route entry is renamed and both names are published so
 * routers drop the old host and learn the new one. Fails with a 409 when `to` is taken.
 */
export async function renameAppState(
  redis: Redis,
  keys: Keys,
  from: string,
  to: string,
  images: Record<string, string>,
): Promise<void> {
  // Claim the new name first (the same atomic step apps:create takes), then move.
  if ((await redis.exists(keys.app(to))) === 1 || (await redis.sadd(keys.apps(), to)) === 0) {
    throw conflict(`app "${to}" already exists; pick another name`);
  }
  try {
    await move(redis, keys, from, to, images);
  } catch (err) {
    await redis.srem(keys.apps(), to);
    throw err;
  }
}

async function move(redis: Redis, keys: Keys, from: string, to: string, images: Record<string, string>) {
  const pairs = perAppKeys(keys, from, to);
  const exists = await Promise.all(pairs.map(([a]) => redis.exists(a)));
  const releases = await redis.hgetall(keys.releases(from));
  const route = await redis.get(keys.route(from));

  const m = redis.multi();
  pairs.forEach(([a, b], i) => {
    if (exists[i]) m.rename(a, b);
  });
  for (const key of indexKeys(keys)) {
    const type = await redis.type(key);
    if (type === "set" && (await redis.sismember(key, from))) m.srem(key, from).sadd(key, to);
    else if (type === "zset") {
      const score = await redis.zscore(key, from);
      if (score !== null) m.zrem(key, from).zadd(key, score, to);
    } else if (type === "hash") {
      const field = await redis.hget(key, from);
      if (field !== null) m.hdel(key, from).hset(key, to, field);
      // Owner maps (custom domain -> app) name the app as a value.
      const all = await redis.hgetall(key);
      for (const [k, v] of Object.entries(all)) if (v === from && k !== from) m.hset(key, k, to);
    }
  }
  for (const [version, raw] of Object.entries(releases)) {
    const r = JSON.parse(raw) as Release;
    if (r.image && images[r.image]) r.image = images[r.image];
    m.hset(keys.releases(to), version, JSON.stringify(r));
  }
  if (route) {
    const entry = JSON.parse(route) as RouteEntry;
    m.set(keys.route(to), JSON.stringify({ ...entry, app: to }));
  }
  m.publish(keys.routeChannel(), from).publish(keys.routeChannel(), to);
  const results = await m.exec();
  const failed = results?.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}
