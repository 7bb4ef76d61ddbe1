// The only place that spells Redis key names. Everything is prefixed by the namespace so
// several platforms (and test runs) can share one Redis without seeing each other.
export class Keys {
  constructor(readonly ns: string) {}
  apps = () => `${this.ns}:apps`;
  app = (app: string) => `${this.ns}:app:${app}`;
  config = (app: string) => `${this.ns}:config:${app}`;
  releases = (app: string) => `${this.ns}:releases:${app}`;
  releaseSeq = (app: string) => `${this.ns}:release-seq:${app}`;
  formation = (app: string) => `${this.ns}:formation:${app}`;
  /** Types the user scaled by hand (they win over app.json formation). */
  formationExplicit = (app: string) => `${this.ns}:formation-explicit:${app}`;
  /** Containers failing their readiness checks: kept out of the route. */
  unready = (app: string) => `${this.ns}:unready:${app}`;
  route = (app: string) => `${this.ns}:route:${app}`;
  routeApps = () => `${this.ns}:routes`;
  routeChannel = () => `${this.ns}:routes:changed`;
  adminTokenHash = () => `${this.ns}:auth:admin`;
  tokens = () => `${this.ns}:auth:tokens`;
  /** Users (email -> record), API tokens (id -> record; sha256 -> id), each user's token ids. */
  users = () => `${this.ns}:auth:users`;
  tokenHashes = () => `${this.ns}:auth:token-hashes`;
  userTokens = (user: string) => `${this.ns}:auth:user-tokens:${user}`;
  /** Who may use an app: app -> owner (absent: admin), and each app's collaborators. */
  appOwners = () => `${this.ns}:access:owners`;
  appCollaborators = (app: string) => `${this.ns}:access:collaborators:${app}`;
  /** The audit trail (capped stream) and failed-auth counters per source address. */
  audit = () => `${this.ns}:audit`;
  authFailures = (addr: string) => `${this.ns}:auth:failures:${addr}`;
  buildLog = (buildId: string) => `${this.ns}:build-log:${buildId}`;
  build = (buildId: string) => `${this.ns}:build:${buildId}`;
  builds = (app: string) => `${this.ns}:builds:${app}`;
  buildSeq = (app: string) => `${this.ns}:build-seq:${app}`;
  buildTurn = (app: string) => `${this.ns}:build-turn:${app}`;
  lock = (app: string) => `${this.ns}:lock:${app}`;
  resources = (app: string) => `${this.ns}:resources:${app}`;
  /** Swarm placement constraints: process type -> JSON list. */
  placement = (app: string) => `${this.ns}:placement:${app}`;
  /** A push's source archive for a worker on another host (store/build-sources.ts). */
  buildSource = (name: string) => `${this.ns}:build-source:${name}`;
  appLog = (app: string) => `${this.ns}:log:${app}`;
  /** Collector: last Docker timestamp stored per container id (resume without loss or repeats). */
  logCursors = () => `${this.ns}:log-cursors`;
  /** The one collector following an engine (by Docker's engine ID), among workers sharing it. */
  collectorLease = (engine: string) => `${this.ns}:collector-lease:${engine}`;
  drains = (app: string) => `${this.ns}:drains:${app}`;
  drainStats = (app: string) => `${this.ns}:drain-stats:${app}`;
  /** Drain shipper: last stream id shipped per app, and the lease of the one shipping. */
  drainCursors = () => `${this.ns}:drain-cursors`;
  drainLease = () => `${this.ns}:drain-lease`;
  /** A drained app's lines for the shipper (longer than the log), and the flag that turns it on. */
  drainBacklog = (app: string) => `${this.ns}:drain-log:${app}`;
  drained = (app: string) => `${this.ns}:drained:${app}`;
  drainSeq = (app: string) => `${this.ns}:drain-seq:${app}`;
  /** Live container stats per app, published by each host's collector. */
  metrics = (app: string) => `${this.ns}:metrics:${app}`;
  /** Custom domains: name -> owning app (the claim), each app's names, its routing options. */
  domainOwners = () => `${this.ns}:domain-owners`;
  domains = (app: string) => `${this.ns}:domains:${app}`;
  domainOptions = (app: string) => `${this.ns}:domain-options:${app}`;
  /** TLS certificates per app (id -> record), the apps that have some, the platform default. */
  certs = (app: string) => `${this.ns}:certs:${app}`;
  certApps = () => `${this.ns}:cert-apps`;
  certDefault = () => `${this.ns}:cert-default`;
  certChannel = () => `${this.ns}:certs:changed`;
  /** ACME: account key, HTTP-01 answers by token, per-app status, the renewer's lease. */
  acmeAccount = () => `${this.ns}:acme:account`;
  acmeChallenge = (token: string) => `${this.ns}:acme:challenge:${token}`;
  acmeStatus = (app: string) => `${this.ns}:acme:status:${app}`;
  acmeApps = () => `${this.ns}:acme:apps`;
  acmeLease = () => `${this.ns}:acme:lease`;
  /** One-off numbers (run.N), scheduled-job claims per (job, time) and last results. */
  runSeq = (app: string) => `${this.ns}:run-seq:${app}`;
  cronClaim = (app: string, job: string, at: number) => `${this.ns}:cron-claim:${app}:${job}:${at}`;
  cronLast = (app: string) => `${this.ns}:cron-last:${app}`;
  /** Present while an API process holds the stdio of an attached one-off (heartbeat). */
  runSession = (containerId: string) => `${this.ns}:run-session:${containerId}`;
  /** Swarm `paas run` through each node's worker (store/run-relay.ts): live workers by node, the
   * nodes list a manager's worker publishes, run requests per node, each run's two streams. */
  runWorkers = () => `${this.ns}:run-workers`;
  runNodes = () => `${this.ns}:run-nodes`;
  runRequests = (node: string) => `${this.ns}:run-requests:${node}`;
  runOut = (run: string) => `${this.ns}:run-out:${run}`;
  runIn = (run: string) => `${this.ns}:run-in:${run}`;
  /** One-offs running on a node (its worker publishes them for `paas ps`). */
  runOneOffs = (node: string) => `${this.ns}:run-oneoffs:${node}`;
  /** Swarm liveness (store/task-restarts.ts): restart requests per node (task id -> request),
   * the mark that a task's restart was requested (once per task), the node's acting worker. */
  taskRestarts = (node: string) => `${this.ns}:task-restarts:${node}`;
  taskRestartMark = (task: string) => `${this.ns}:task-restart:${task}`;
  taskRestartLease = (node: string) => `${this.ns}:task-restart-lease:${node}`;
  /** Old containers draining after a deploy: container id -> deadline (runtime/retire.ts). */
  retiring = (app: string) => `${this.ns}:retiring:${app}`;
  /** Router processes' counters for /metrics: worker id -> latest snapshot. */
  routerStats = () => `${this.ns}:router-stats`;
  /** Plugins: installed ones (name -> record), disabled names, each plugin's own state. */
  pluginsInstalled = () => `${this.ns}:plugins:installed`;
  pluginsDisabled = () => `${this.ns}:plugins:disabled`;
  pluginData = (plugin: string) => `${this.ns}:plugin-data:${plugin}`;
  /** bullmq prefix: its keys live under our namespace too. */
  bullPrefix = () => `${this.ns}:bull`;
}
