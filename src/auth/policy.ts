// The one authorization function. Every entry point (API routes, HTTP and SSH git, log
// streams, drains, `paas run`, the dashboard, /metrics) asks it, and nothing else decides
// who may do what. Pure: it takes the facts (who asks, what for, whose app) and answers.

export type Role = "admin" | "user";

/** Who is asking: a user id (an email; "admin" for the platform's first admin) and a role. */
export interface Principal {
  user: string;
  role: Role;
}

/** Whose app it is: the owner and the collaborators (user ids). */
export interface AppAccess {
  owner: string;
  collaborators: readonly string[];
}

/**
 * What a request wants to do.
 * - `apps:list`, `apps:create`, `self`: any signed-in user (the list is filtered by `app:read`;
 *   `self` is the caller's own tokens, password and identity).
 * - `app:*`, `git:*`: the app's owner, its collaborators, and admins.
 * - `app:access`: changing who has access (collaborators, transfer): the owner and admins.
 * - `admin`: platform-wide things (users, stack, plugins, operator drains, default certs,
 *   metrics, audit, router settings): admins only.
 * - `public`: no check (health, ACME answers); routes declare it on purpose.
 */
export type Action =
  | "public"
  | "self"
  | "apps:list"
  | "apps:create"
  | "app:read"
  | "app:config"
  | "app:write"
  | "app:logs"
  | "app:run"
  | "app:scale"
  | "app:destroy"
  | "app:access"
  | "git:push"
  | "git:fetch"
  | "admin";

export const ACTIONS: readonly Action[] = [
  "public",
  "self",
  "apps:list",
  "apps:create",
  "app:read",
  "app:config",
  "app:write",
  "app:logs",
  "app:run",
  "app:scale",
  "app:destroy",
  "app:access",
  "git:push",
  "git:fetch",
  "admin",
];

export type Decision = { allow: true; reason: string } | { allow: false; reason: string };

/** Actions on one app: they need the app's access facts. */
export function isAppAction(action: Action): boolean {
  return action.startsWith("app:") || action.startsWith("git:");
}

/** Actions a collaborator may do (all app work except changing who has access). */
const MEMBER_ACTIONS = new Set<Action>([
  "app:read",
  "app:config",
  "app:write",
  "app:logs",
  "app:run",
  "app:scale",
  "app:destroy",
  "git:push",
  "git:fetch",
]);

/**
 * Whether `principal` may do `action` (on `app`, for app actions). A denial's reason is a
 * one-line, user-facing sentence.
 */
export function authorize(
  principal: Principal | null | undefined,
  action: Action,
  app?: AppAccess,
): Decision {
  if (action === "public") return { allow: true, reason: "public" };
  if (!principal) return { allow: false, reason: "authentication required: run `paas login`" };
  if (principal.role === "admin") return { allow: true, reason: "admin" };
  switch (action) {
    case "self":
    case "apps:list":
    case "apps:create":
      return { allow: true, reason: "signed in" };
    case "admin":
      return { allow: false, reason: `${principal.user} is not an admin: only admins may do this` };
  }
  if (!app) return { allow: false, reason: `no app given for ${action}` };
  if (app.owner === principal.user) return { allow: true, reason: "owner" };
  if (app.collaborators.includes(principal.user) && MEMBER_ACTIONS.has(action))
    return { allow: true, reason: "collaborator" };
  if (app.collaborators.includes(principal.user))
    return { allow: false, reason: `only the app's owner or an admin may change its access (${action})` };
  return {
    allow: false,
    reason: `${principal.user} has no access to this app: ask its owner for \`paas access:add\``,
  };
}
