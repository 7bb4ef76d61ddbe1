// The last known state of each add-on's service container, in the plugin's key-value state
// (`state:<name>`), written where Docker is (a worker: create, attach, heal, reconcile) and
// read where it is not (the API's `paas ps`), as the collector publishes container metrics.

import type { PluginKv } from "../../src/plugins/types.js";

const PREFIX = "state:";

export interface ServiceState {
  state: string;
  at: string;
}

export class StateBook {
  constructor(private readonly kv: PluginKv) {}

  record(addon: string, state: string): Promise<void> {
    return this.kv.set(PREFIX + addon, { state, at: new Date().toISOString() } satisfies ServiceState);
  }

  async get(addon: string): Promise<ServiceState | undefined> {
    return this.kv.get<ServiceState>(PREFIX + addon);
  }

  forget(addon: string): Promise<void> {
    return this.kv.del(PREFIX + addon);
  }
}
