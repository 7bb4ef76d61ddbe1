import fs from "node:fs";
import path from "node:path";
import type { Settings } from "./config.js";

// The scheduler's settings and swarm mode's registry (PAAS_SCHEDULER, PAAS_SWARM_*,
// PAAS_REGISTRY*), checked as config.ts checks the rest: one problem line per bad value.

export function schedulerSettings(
  env: Record<string, string | undefined>,
  namespace: string,
  problems: string[],
): Pick<Settings, "scheduler" | "swarmNetwork" | "swarmVolumeDriver"> {
  const scheduler = env.PAAS_SCHEDULER || "docker";
  if (scheduler !== "docker" && scheduler !== "swarm") {
    problems.push(`PAAS_SCHEDULER="${scheduler}" must be docker or swarm`);
  }
  const swarmNetwork = env.PAAS_SWARM_NETWORK || `${namespace}-swarm`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(swarmNetwork)) {
    problems.push(
      `PAAS_SWARM_NETWORK="${swarmNetwork}" must be a Docker network name (letters, digits, _ . -)`,
    );
  }
  const swarmVolumeDriver = env.PAAS_SWARM_VOLUME_DRIVER || null;
  if (swarmVolumeDriver !== null && !/^[A-Za-z0-9][A-Za-z0-9_./:-]{0,127}$/.test(swarmVolumeDriver)) {
    problems.push(`PAAS_SWARM_VOLUME_DRIVER="${swarmVolumeDriver}" must be a Docker volume driver name`);
  }
  return {
    scheduler: scheduler === "swarm" ? "swarm" : "docker",
    swarmNetwork,
    swarmVolumeDriver,
  };
}

/** The config.yml of setup's registry (scripts/registry.sh), written when setup starts it. */
export function localRegistryConfig(dataDir: string): string {
  return path.join(dataDir, "registry", "config.yml");
}

/** setup's registry address (scripts/registry.sh) when PAAS_REGISTRY_LISTEN is unset. */
export const DEFAULT_REGISTRY_LISTEN = "127.0.0.1:5000";

/**
 * Swarm mode's registry. Unset PAAS_REGISTRY means setup's own registry when setup started
 * one (scripts/registry.sh: PAAS_REGISTRY_LISTEN, config and storage under <data dir>/registry),
 * else none; `none` keeps images on the manager's engine. The password is never part of a message.
 */
export function registrySettings(
  env: Record<string, string | undefined>,
  dataDir: string,
  problems: string[],
): Pick<
  Settings,
  "registry" | "registryLocal" | "registryConfig" | "registryAuth" | "registryTls" | "registryCa"
> {
  const swarm = env.PAAS_SCHEDULER === "swarm";
  const listen = env.PAAS_REGISTRY_LISTEN || DEFAULT_REGISTRY_LISTEN;
  const listenMatch = /^(\[[0-9a-f:]+\]|[a-z0-9.-]*):(\d{1,5})$/i.exec(listen);
  if (!listenMatch || Number(listenMatch[2]) > 65535) {
    problems.push(
      `PAAS_REGISTRY_LISTEN="${listen}" must be host:port (e.g. 127.0.0.1:5000 or 10.0.0.2:5000)`,
    );
  }
  const raw = env.PAAS_REGISTRY || "";
  let registry: string | null = null;
  let registryLocal = false;
  if (raw === "none") registry = null;
  else if (raw) {
    registry = raw;
    if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(raw)) {
      problems.push(`PAAS_REGISTRY="${raw}" must be host:port of a registry (no scheme, no path), or none`);
    }
  } else if (swarm && listenMatch && fs.existsSync(localRegistryConfig(dataDir))) {
    // Setup started its registry here. Listening on every address: this host reaches it on
    // loopback (other nodes need PAAS_REGISTRY). Without it, images stay on the manager's engine.
    const host = ["", "0.0.0.0", "[::]"].includes(listenMatch[1]) ? "127.0.0.1" : listenMatch[1];
    registry = `${host}:${listenMatch[2]}`;
    registryLocal = true;
  }
  let registryConfig = env.PAAS_REGISTRY_CONFIG || null;
  if (registryConfig !== null && !fs.existsSync(registryConfig)) {
    problems.push(
      `PAAS_REGISTRY_CONFIG="${registryConfig}" does not exist: point it at the registry's config.yml`,
    );
  }
  if (registryConfig === null && registryLocal) registryConfig = localRegistryConfig(dataDir);

  const username = env.PAAS_REGISTRY_USERNAME || "";
  const password = env.PAAS_REGISTRY_PASSWORD || "";
  let registryAuth: Settings["registryAuth"] = null;
  if ((username ? 1 : 0) + (password ? 1 : 0) === 1) {
    problems.push("PAAS_REGISTRY_USERNAME and PAAS_REGISTRY_PASSWORD go together: set both or neither");
  } else if (username) {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(username)) {
      problems.push(
        `PAAS_REGISTRY_USERNAME="${username}" must be 1-64 letters, digits and . _ @ - (an htpasswd user)`,
      );
    }
    registryAuth = { username, password };
  }
  const tlsRaw = env.PAAS_REGISTRY_TLS || (env.PAAS_REGISTRY_TLS_CERT ? "on" : "off");
  if (tlsRaw !== "on" && tlsRaw !== "off") problems.push(`PAAS_REGISTRY_TLS="${tlsRaw}" must be on or off`);
  const ca = env.PAAS_REGISTRY_CA || null;
  if (ca !== null && (!fs.existsSync(ca) || !fs.statSync(ca).isFile())) {
    problems.push(`PAAS_REGISTRY_CA="${ca}" does not exist: point it at the PEM file of the registry's CA`);
  }
  for (const name of ["PAAS_REGISTRY_TLS_CERT", "PAAS_REGISTRY_TLS_KEY"]) {
    const file = env[name];
    if (file && !fs.existsSync(file))
      problems.push(`${name}="${file}" does not exist: point it at a PEM file`);
  }
  if ((env.PAAS_REGISTRY_TLS_CERT ? 1 : 0) + (env.PAAS_REGISTRY_TLS_KEY ? 1 : 0) === 1) {
    problems.push("PAAS_REGISTRY_TLS_CERT and PAAS_REGISTRY_TLS_KEY go together: set both or neither");
  }
  return {
    registry,
    registryLocal,
    registryConfig,
    registryAuth,
    registryTls: tlsRaw === "on",
    registryCa: ca === null ? null : path.resolve(ca),
  };
}
