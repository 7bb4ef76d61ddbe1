// What every PAAS_* setting means and defaults to: the README's table and
// `paas server --help`. Parsing and checking them is config.ts.

export interface SettingDoc {
  name: string;
  default: string;
  description: string;
}

/** Every setting, for the README table and `paas server --help`. */
export const SETTINGS_DOC: SettingDoc[] = [
  {
    name: "PAAS_DATA_DIR",
    default: "/var/lib/paas (root), ~/.paas",
    description: "git repos, admin token, build caches",
  },
  {
    name: "PAAS_REDIS_URL",
    default: "redis://127.0.0.1:6379",
    description: "Redis for state, queue, routes, logs",
  },
  {
    name: "PAAS_NAMESPACE",
    default: "paas",
    description: "prefix for Redis keys, queues, Docker labels/names (one platform per namespace)",
  },
  { name: "PAAS_DOMAIN", default: "localhost", description: "apps are served at <app>.<PAAS_DOMAIN>" },
  { name: "PAAS_API_PORT", default: "5100", description: "REST API and git smart-HTTP port" },
  { name: "PAAS_HTTP_PORT", default: "80 (root), 8080", description: "router port" },
  {
    name: "PAAS_HTTPS_PORT",
    default: "443 (root), 8443",
    description: "router HTTPS port (certificates by SNI); off: no HTTPS listener",
  },
  {
    name: "PAAS_TLS_CERT",
    default: "(none)",
    description: "PEM chain of the default certificate for *.<PAAS_DOMAIN> (or paas certs:add --default)",
  },
  { name: "PAAS_TLS_KEY", default: "(none)", description: "PEM file of that certificate's private key" },
  {
    name: "PAAS_ACME_DIRECTORY",
    default: "Let's Encrypt production",
    description: "ACME directory URL for paas certs:auto",
  },
  { name: "PAAS_ACME_EMAIL", default: "(none)", description: "contact email of the ACME account" },
  { name: "PAAS_HTTP2", default: "on", description: "offer HTTP/2 on the HTTPS listener (ALPN): on or off" },
  { name: "PAAS_BIND", default: "127.0.0.1", description: "address the API and router listen on" },
  { name: "PAAS_ROLES", default: "api,git,worker,router", description: "roles this process runs" },
  {
    name: "PAAS_BUILD_CONCURRENCY",
    default: "2",
    description: "builds of different apps run in parallel up to this",
  },
  {
    name: "PAAS_BUILD_CA_BUNDLE",
    default: "/etc/ssl/certs/ca-certificates.crt if present",
    description: "CA bundle builds trust (set to 'none' to disable)",
  },
  { name: "PAAS_BUILD_HTTP_PROXY", default: "$HTTP_PROXY", description: "HTTP proxy passed to builds" },
  { name: "PAAS_BUILD_HTTPS_PROXY", default: "$HTTPS_PROXY", description: "HTTPS proxy passed to builds" },
  { name: "PAAS_BUILD_NO_PROXY", default: "$NO_PROXY", description: "no-proxy list passed to builds" },
  { name: "PAAS_DEFAULT_MEMORY", default: "512m", description: "memory limit of an app container" },
  { name: "PAAS_PIDS_LIMIT", default: "512", description: "most processes/threads an app container may run" },
  {
    name: "PAAS_SSH_PORT",
    default: "2222",
    description: "SSH port for git push/fetch (on PAAS_BIND, git role); off: no SSH server",
  },
  {
    name: "PAAS_SECRET_KEY",
    default: "<data dir>/secret.key",
    description:
      "base64 32-byte key sealing config values, TLS keys and drain URLs (hosts without the data dir)",
  },
  {
    name: "PAAS_SECRET_KEY_PREVIOUS",
    default: "(none)",
    description: "earlier PAAS_SECRET_KEY values, comma-separated, still read until secrets:rotate-key",
  },
  {
    name: "PAAS_BUILD_NETWORK",
    default: "isolated",
    description:
      "network of Dockerfile builds: isolated (cannot reach this host) or a Docker network, e.g. bridge",
  },
  {
    name: "PAAS_START_TIMEOUT",
    default: "60",
    description: "seconds a new web container gets to listen on $PORT",
  },
  {
    name: "PAAS_API_URL",
    default: "http://<PAAS_BIND>:<PAAS_API_PORT>",
    description: "API URL as clients see it (git remotes use it)",
  },
  {
    name: "PAAS_STACK_MIRROR",
    default: "http://deb.debian.org/debian",
    description: "Debian mirror for building stack images",
  },
  {
    name: "PAAS_STACK_BUILD_IMAGE",
    default: "paas/stack-build:<version>",
    description: "use your own build stack image",
  },
  {
    name: "PAAS_STACK_RUN_IMAGE",
    default: "paas/stack-run:<version>",
    description: "use your own run stack image",
  },
  {
    name: "PAAS_SCHEDULER",
    default: "docker",
    description: "docker: apps run as containers on this engine; swarm: as services on a Docker Swarm",
  },
  {
    name: "PAAS_SWARM_NETWORK",
    default: "<namespace>-swarm",
    description: "swarm: attachable overlay network the tasks, the router and the checks share",
  },
  {
    name: "PAAS_REGISTRY",
    default: "swarm: setup's registry (PAAS_REGISTRY_LISTEN) if setup started one here",
    description:
      "swarm: registry (host:port) images are pushed to and every node pulls from; none: images stay on the manager",
  },
  {
    name: "PAAS_REGISTRY_CONFIG",
    default: "<data dir>/registry/config.yml with setup's registry",
    description:
      "swarm: config.yml of that registry when its storage is on the worker's host (retention runs its GC)",
  },
  {
    name: "PAAS_REGISTRY_LISTEN",
    default: "127.0.0.1:5000",
    description: "swarm: address setup's registry (scripts/registry.sh) listens on; every node must reach it",
  },
  {
    name: "PAAS_REGISTRY_USERNAME",
    default: "(none)",
    description:
      "swarm: registry user for pushes, nodes' pulls and its API; setup writes its htpasswd (bcrypt)",
  },
  {
    name: "PAAS_REGISTRY_PASSWORD",
    default: "(none)",
    description: "swarm: that user's password (a secret)",
  },
  {
    name: "PAAS_REGISTRY_TLS",
    default: "on with PAAS_REGISTRY_TLS_CERT, else off",
    description: "swarm: speak HTTPS to the registry's API (on or off)",
  },
  {
    name: "PAAS_REGISTRY_CA",
    default: "(system CAs)",
    description:
      "swarm: PEM file of the CA the registry's certificate is signed by, trusted by the API calls",
  },
  {
    name: "PAAS_REGISTRY_TLS_CERT",
    default: "(none)",
    description: "swarm: PEM certificate and key (PAAS_REGISTRY_TLS_KEY) setup's registry serves HTTPS with",
  },
  { name: "PAAS_REGISTRY_TLS_KEY", default: "(none)", description: "swarm: that certificate's private key" },
  { name: "PAAS_LOG_LEVEL", default: "info", description: "platform log level: debug, info, warn, error" },
  {
    name: "PAAS_ROUTER_WORKERS",
    default: "number of cores",
    description: "router processes sharing the router's ports; 0 runs the router in the server process",
  },
  {
    name: "PAAS_ERROR_PAGES_DIR",
    default: "(built-in)",
    description:
      "directory of error page templates (404 413 502 503 504 maintenance .njk) replacing the built-in ones",
  },
  { name: "PAAS_LOG_LINES", default: "1500", description: "log lines kept per app (paas logs reads these)" },
  {
    name: "PAAS_AUTH_FAILURE_LIMIT",
    default: "10",
    description: "failed logins and token checks per source address before it gets 429 for the window",
  },
  { name: "PAAS_AUTH_FAILURE_WINDOW", default: "60", description: "seconds the failed-auth count is kept" },
  {
    name: "PAAS_LOG_DRAINS",
    default: "(none)",
    description:
      "platform-wide log drains, comma-separated: syslog://, syslog+tls://, syslog+udp://, https://",
  },
  {
    name: "PAAS_PLUGIN_TIMEOUT",
    default: "30",
    description: "seconds a plugin trigger or command may run before it is stopped (and the operation fails)",
  },
];
