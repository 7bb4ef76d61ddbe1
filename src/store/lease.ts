import type { Redis } from "ioredis";

// Renew only while still the holder, in one step (a lapsed lease taken by another stays theirs).
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;

/** A lease in Redis held by one holder at a time: taken or renewed, lapses if not renewed. */
export class Lease {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly holder: string,
  ) {}

  /** Take the lease, or renew it if held: true while this holder has it. */
  async take(ms: number): Promise<boolean> {
    if ((await this.redis.set(this.key, this.holder, "PX", ms, "NX")) === "OK") return true;
    return Number(await this.redis.eval(RENEW, 1, this.key, this.holder, String(ms))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.holder);
  }
}
