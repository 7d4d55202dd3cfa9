/**
 * Connecting to the NATS server that `nats.url` names, with JetStream, and
 * making sure every stream exists with the configured settings.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { Config } from "../config/mod.ts";
import { ConfigError, TcfsError } from "../errors.ts";
import { ensureStreams, queueSettings } from "./streams.ts";

/** An open connection to the queue. */
export interface QueueConnection {
  /** The NATS connection. */
  nc: NatsConnection;
  /** JetStream client (publish, consume). */
  js: JetStreamClient;
  /** JetStream manager (streams, consumers). */
  jsm: JetStreamManager;
  /** Flush and close the connection. */
  close(): Promise<void>;
}

/**
 * Connect to `config.nats.url` as `name` (shown in the server's connection
 * list) and ensure the streams. Reconnects forever once connected.
 */
export async function connectQueue(config: Config, name: string): Promise<QueueConnection> {
  if (config.nats.url === "") {
    throw new ConfigError("nats.url is not set: workers and task queues need a NATS server");
  }
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: config.nats.url, name, maxReconnectAttempts: -1 });
  } catch (err) {
    throw new TcfsError(`cannot connect to NATS at ${config.nats.url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, queueSettings(config));
    return {
      nc,
      js: jetstream(nc),
      jsm,
      async close() {
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (err) {
    await nc.close();
    if (err instanceof TcfsError) throw err;
    throw new TcfsError(
      `NATS at ${config.nats.url} has no usable JetStream (start nats-server with -js): ` +
        (err as Error).message,
      { cause: err },
    );
  }
}
