import type { Discovery } from "./types.js";

// Docker names for service discovery. Pure; handed to every plugin as `ctx.discovery`, so the
// network plugin and the add-ons agree on them without importing each other.

export function discoveryFor(namespace: string): Discovery {
  return {
    appNetwork: (app) => `${namespace}.app.${app}`,
    sharedNetwork: (name) => `${namespace}.net.${name}`,
    internalName: (name, app) => `${name}.${app}.internal`,
  };
}
