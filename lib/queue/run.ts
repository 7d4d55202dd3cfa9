/**
 * A `tcfs worker` process: open the repository as this device, connect to
 * NATS (creating the streams), serve metrics, run tasks until SIGTERM or
 * SIGINT, then finish or hand back the running ones.
 *
 * Each worker process is a device of the repository: it commits under its
 * own device id (made once in its `state.dir`), and it unlocks the
 * repository with the age identity in `device.identity_file`. A fleet
 * shares one identity, given access once with `tcfs device add`; each pod
 * gets its own id from its own state directory (see docs/QUEUE.md).
 *
 * @module
 */

import { configuredS3Options, deviceId, openConfiguredRepository } from "../app/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Repository } from "../repo/mod.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import {
  createTcfsMetrics,
  instrumentStore,
  type MetricsServer,
  serveMetrics,
  type TcfsMetrics,
} from "../metrics/mod.ts";
import { openStore } from "../storage/mod.ts";
import { connectQueue, type QueueConnection } from "./connect.ts";
import { ingestHandler } from "./ingest.ts";
import type { TaskHandlers } from "./task.ts";
import { runWorker, type WorkerSummary } from "./worker.ts";

/** Options of {@link runWorkerProcess}. */
export interface WorkerProcessOptions {
  /** Effective configuration. */
  config: Config;
  /** Logger. */
  log: Logger;
  /** Plugs in the other task kinds, beside the built-in `ingest`, once all is open. */
  extend?: (env: WorkerEnvironment) => Promise<WorkerExtension>;
}

/** What a worker process has open, for the task kinds plugged into it. */
export interface WorkerEnvironment {
  /** Effective configuration. */
  config: Config;
  /** Logger. */
  log: Logger;
  /** The repository, opened as this worker's device. */
  repo: Repository;
  /** This worker's device id. */
  device: string;
  /** The NATS connection, streams ensured. */
  queue: QueueConnection;
  /** The worker's metrics. */
  metrics: TcfsMetrics;
}

/** Task kinds plugged into a worker process. */
export interface WorkerExtension {
  /** Their handlers. */
  handlers: TaskHandlers;
  /** Stop what they run beside the tasks and release what they hold (after the worker stops). */
  close(): Promise<void>;
}

/** Run until a stop signal; returns what the worker did. */
export async function runWorkerProcess(opts: WorkerProcessOptions): Promise<WorkerSummary> {
  const { config, log } = opts;
  const metrics = createTcfsMetrics();
  const repo = await openConfiguredRepository(config, {}, (s) => instrumentStore(s, metrics));
  const device = await deviceId(config);
  const stop = new AbortController();
  let http: MetricsServer | undefined;
  const queue = await connectQueue(config, `tcfs-worker-${device}`).catch(async (err) => {
    await repo.store.close();
    throw err;
  });
  const ingest = ingestHandler({
    repo,
    device,
    openSource: async (url) =>
      instrumentStore(await openStore(url, configuredS3Options(config)), metrics),
    concurrency: config.transfer.concurrency,
  });
  const extension = await opts.extend?.({
    config,
    log,
    repo,
    device,
    queue,
    metrics,
  }).catch(async (err) => {
    await ingest.close();
    await queue.close();
    await repo.store.close();
    throw err;
  });
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    if (config.worker.metrics_listen !== "") {
      const { hostname, port } = parseListen(config.worker.metrics_listen);
      // A worker's address is the operator's explicit choice (a pod must bind 0.0.0.0).
      http = serveMetrics({
        registry: metrics.registry,
        hostname,
        port,
        allowNonLoopback: true,
        ready: async () => {
          if (!(await repo.store.head("config"))) throw new Error("repository config missing");
          if (queue.nc.isClosed()) throw new Error("NATS connection closed");
        },
      });
    }
    log.info("worker ready", {
      device,
      nats: config.nats.url,
      concurrency: config.worker.concurrency,
      metrics: http?.url ?? "off",
    });
    const summary = await runWorker({
      js: queue.js,
      handlers: { ...extension?.handlers, ingest: ingest.handler },
      concurrency: config.worker.concurrency,
      maxAttempts: config.worker.max_attempts,
      ackWaitMs: config.worker.ack_wait_seconds * 1000,
      retryDelayMs: config.worker.retry_delay_seconds * 1000,
      worker: device,
      log,
      metrics,
      signal: stop.signal,
    });
    log.info("worker stopped", { ...summary });
    return summary;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
    await http?.shutdown();
    await extension?.close();
    await ingest.close();
    await queue.close();
    await repo.store.close();
  }
}

/** Split `host:port` (IPv6 as `[::1]:port`). */
function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new ConfigError(`worker.metrics_listen: expected host:port, got '${listen}'`);
  return { hostname: m[1] ?? m[2], port: Number(m[3]) };
}
