import Docker from "dockerode";
import { Containers } from "./containers.js";
import { Images } from "./images.js";
import { ContainerStreams } from "./streams.js";

export { Containers } from "./containers.js";
export { Images } from "./images.js";
export { ContainerStreams } from "./streams.js";
export * from "./labels.js";

export interface DockerParts {
  raw: Docker;
  containers: Containers;
  images: Images;
  /** Events, followed output and stats for the log collector. */
  streams: ContainerStreams;
}

/** Compose the Docker wrappers once at start-up (DOCKER_HOST or the local socket). */
export function connectDocker(): DockerParts {
  const raw = new Docker();
  return { raw, containers: new Containers(raw), images: new Images(raw), streams: new ContainerStreams(raw) };
}
