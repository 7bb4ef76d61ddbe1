import Docker from "dockerode";
import { Containers } from "./containers.js";
import { Execs } from "./exec.js";
import { Images } from "./images.js";
import { Networks } from "./networks.js";
import { Services } from "./services.js";
import { ContainerStreams } from "./streams.js";
import { Volumes } from "./volumes.js";

export { Containers } from "./containers.js";
export { Execs } from "./exec.js";
export { Images } from "./images.js";
export * from "./labels.js";
export { Networks } from "./networks.js";
export { type NodeInfo, Services, type TaskInfo } from "./services.js";
export { ContainerStreams } from "./streams.js";
export { Volumes } from "./volumes.js";

export interface DockerParts {
  raw: Docker;
  containers: Containers;
  images: Images;
  /** Events, followed output and stats for the log collector. */
  streams: ContainerStreams;
  volumes: Volumes;
  networks: Networks;
  /** Commands in running containers, filesystem exports. */
  execs: Execs;
  /** Swarm services, tasks and nodes (swarm scheduler). */
  services: Services;
}

/** Compose the Docker wrappers once at start-up (DOCKER_HOST or the local socket). */
export function connectDocker(): DockerParts {
  const raw = new Docker();
  return {
    raw,
    containers: new Containers(raw),
    images: new Images(raw),
    streams: new ContainerStreams(raw),
    volumes: new Volumes(raw),
    networks: new Networks(raw),
    execs: new Execs(raw),
    services: new Services(raw),
  };
}
