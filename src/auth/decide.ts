import type { Store } from "../store/index.js";
import { type Action, authorize, type Decision, isAppAction, type Principal } from "./policy.js";

/** The principal for a user id (role from the users store), or null when there is no such user. */
export async function principalFor(store: Store, user: string): Promise<Principal | null> {
  const rec = await store.users.get(user);
  return rec ? { user: rec.email, role: rec.role } : null;
}

/**
 * authorize() with the facts loaded from the store: for doors that know a user id and an
 * app name (SSH git, plugin commands). An app action on an app that does not exist is denied.
 */
export async function authorizeUser(
  store: Store,
  user: string,
  action: Action,
  app?: string,
): Promise<Decision> {
  const principal = await principalFor(store, user);
  if (!isAppAction(action)) return authorize(principal, action);
  if (!app) return authorize(principal, action);
  const access = await store.access.get(app);
  return authorize(principal, action, access);
}
