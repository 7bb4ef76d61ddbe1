import type Docker from "dockerode";
import { statusOf } from "./containers.js";

/** Docker named volumes (add-on data, storage mounts). Only labelled ones are ours. */
export class Volumes {
  constructor(private readonly docker: Docker) {}

  /** Create the volume if it does not exist yet (idempotent: labels are set only on create); whether it did. */
  async ensure(name: string, labels: Record<string, string>): Promise<boolean> {
    if (await this.inspect(name)) return false;
    await this.docker.createVolume({ Name: name, Labels: labels });
    return true;
  }

  async inspect(name: string): Promise<Docker.VolumeInspectInfo | null> {
    try {
      return (await this.docker.getVolume(name).inspect()) as Docker.VolumeInspectInfo;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async list(filters: Record<string, string[]>): Promise<Docker.VolumeInspectInfo[]> {
    const res = (await this.docker.listVolumes({ filters: JSON.stringify(filters) })) as {
      Volumes: Docker.VolumeInspectInfo[] | null;
    };
    return res.Volumes ?? [];
  }

  /** Remove a volume; a missing one is fine. */
  async remove(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}
