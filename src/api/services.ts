import type { BuildQueue } from "../builder/queue.js";
import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import type { Repos } from "../git/repos.js";
import type { Deployer } from "../runtime/deploy.js";
import type { OneOffs } from "../runtime/oneoff.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Store } from "../store/index.js";

/** What the API's handlers may use, composed once at start-up. */
export interface Services {
  settings: Settings;
  store: Store;
  runtime: Runtime;
  deployer: Deployer;
  docker: DockerParts;
  queue: BuildQueue;
  repos: Repos;
  /** `paas run` containers: the one door to Docker for them. */
  oneOffs: OneOffs;
  log: (msg: string, ctx?: Record<string, unknown>) => void;
}
