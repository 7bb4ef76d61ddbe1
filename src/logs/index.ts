import type { Settings } from "../config.js";
import type { DockerParts } from "../docker/index.js";
import { messageOf } from "../errors.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import { LogStreamStore } from "../store/log-stream.js";
import { Collector } from "./collector.js";
import { DrainShipper } from "./drains/shipper.js";
import { type EventSink, StreamWriter } from "./writer.js";

export type { AppLogSink, EventSink } from "./writer.js";

export interface LogsHandle {
  writer: StreamWriter;
  /** For release.ts, pipeline.ts and operations: `paas[api]` lines. */
  events: EventSink;
  close(): Promise<void>;
}

/**
 * The logs module, composed once: a batched writer every role uses; with the worker role,
 * this engine's collector and the drain shipper (one active across the platform).
 */
export function startLogs(deps: {
  settings: Settings;
  store: Store;
  docker: DockerParts;
  logger: Logger;
  worker: boolean;
}): LogsHandle {
  const log = deps.logger.child("logs");
  // The log firehose gets a connection of its own: tens of thousands of lines a second must
  // not queue in front of the state commands (and the health ping) on the store's one.
  const redis = deps.store.redis.duplicate();
  redis.on("error", () => {});
  const streams = new LogStreamStore(redis, deps.store.keys, deps.settings.logLines);
  const writer = new StreamWriter(streams, (err) =>
    log("log stream write failed", { error: messageOf(err) }),
  );
  let collector: Collector | null = null;
  let shipper: DrainShipper | null = null;
  if (deps.worker) {
    collector = new Collector(deps.settings.namespace, deps.store, deps.docker, writer, log);
    collector.start();
    shipper = new DrainShipper(deps.store, deps.settings.logDrains, log);
    shipper.start();
  }
  return {
    writer,
    events: writer,
    async close() {
      await collector?.stop();
      await shipper?.stop();
      await writer.flush();
      redis.disconnect();
    },
  };
}
