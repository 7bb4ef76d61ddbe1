import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import { ADMIN_USER } from "./users.js";

/** Who may use an app. An app with no recorded owner (made before users existed) is the admin's. */
export interface AppAccessRecord {
  owner: string;
  collaborators: string[];
}

export class AccessStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(app: string): Promise<AppAccessRecord> {
    const [owner, collaborators] = await Promise.all([
      this.redis.hget(this.keys.appOwners(), app),
      this.redis.smembers(this.keys.appCollaborators(app)),
    ]);
    return { owner: owner ?? ADMIN_USER, collaborators: collaborators.sort() };
  }

  /** The admin owns by default, so the admin's apps have no entry (and rename never mistakes "admin" for an app). */
  async setOwner(app: string, owner: string): Promise<void> {
    const m = this.redis.multi();
    if (owner === ADMIN_USER) m.hdel(this.keys.appOwners(), app);
    else m.hset(this.keys.appOwners(), app, owner);
    // The new owner is no longer a collaborator.
    await m.srem(this.keys.appCollaborators(app), owner).exec();
  }

  /** True when added (false: already there). */
  async addCollaborator(app: string, user: string): Promise<boolean> {
    return (await this.redis.sadd(this.keys.appCollaborators(app), user)) === 1;
  }

  async removeCollaborator(app: string, user: string): Promise<boolean> {
    return (await this.redis.srem(this.keys.appCollaborators(app), user)) === 1;
  }

  /** Apps `user` owns (among `apps`, all the platform's). */
  async ownedBy(user: string, apps: readonly string[]): Promise<string[]> {
    if (user === ADMIN_USER) {
      const owners = await this.redis.hgetall(this.keys.appOwners());
      return apps.filter((a) => !owners[a]);
    }
    const owners = await this.redis.hgetall(this.keys.appOwners());
    return apps.filter((a) => owners[a] === user);
  }

  /** Drop the user from every collaborator list (they are being removed). */
  async forgetUser(user: string, apps: readonly string[]): Promise<void> {
    if (apps.length === 0) return;
    const m = this.redis.multi();
    for (const a of apps) m.srem(this.keys.appCollaborators(a), user);
    await m.exec();
  }

  /** The app is gone: its access goes with it. */
  async forget(app: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.appOwners(), app).del(this.keys.appCollaborators(app)).exec();
  }
}
