// The add-on data model and what a service plugin (postgres, redis) describes.

export type ServiceName = "postgres" | "redis";

/** One attachment of an add-on to an app: the app sees it as `<as>_URL`. */
export interface Attachment {
  app: string;
  as: string;
  /**
   * Earlier names the app's URL var may still use (`<addon>.<old app>.internal` after
   * `apps:rename`): the service keeps answering to them, as the config is not rewritten.
   */
  hosts?: string[];
}

/** An add-on as stored: the service, its generated credentials and where it is attached. */
export interface Addon {
  name: string;
  service: ServiceName;
  /** The app it was created for (its billing app, in Heroku's words). */
  app: string;
  attachments: Attachment[];
  user: string;
  password: string;
  database: string;
  image: string;
  createdAt: string;
  createdBy: string;
  /**
   * Swarm mode: the node the service is pinned to (its data volume is there), chosen at
   * create; null when a volume driver spanning nodes lets it run anywhere. Absent: docker
   * mode, or created before swarm mode (pinned to the manager's node).
   */
  placement?: { nodeId: string; hostname: string } | null;
}

export interface ServiceKind {
  name: ServiceName;
  image: string;
  port: number;
  /** Where the named volume is mounted in the service container. */
  dataPath: string;
  /** The config var prefix when --as is not given: DATABASE -> DATABASE_URL. */
  defaultAs: string;
  /** Environment of the service container (credentials for its first start). */
  env(a: Addon): string[];
  url(a: Addon, host: string): string;
  /** A command run inside the service container that exits 0 once it takes connections. */
  readyCommand(a: Addon): string[];
}
