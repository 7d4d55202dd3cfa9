/**
 * Prefetch where a worker has only the bucket: it cannot warm a laptop's
 * cache itself, so it tells the laptop what to warm. Two halves:
 *
 * - {@link HydrationFollower} reads the `HYDRATION_EVENTS` stream (one
 *   durable consumer shared by every worker, so each event is handled
 *   once) and turns each hydration of a file into a `prefetch` task for
 *   the same device and the file's directory: who opened one photo of an
 *   album will likely open the next. The task id comes from device and
 *   directory, so a burst of hydrations in one directory within the
 *   queue's duplicate window (10 min) makes one task.
 * - {@link prefetchHandler} runs such a task: it resolves the files
 *   directly in the directory (not below it) to their chunks, up to
 *   `worker.prefetch_max_bytes`, and publishes a sealed prefetch hint on
 *   `STATE.<device>.prefetch` (lib/events/prefetch_hints.ts), which the
 *   device's daemon warms its chunk cache from at background priority.
 *
 * @module
 */

import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamManager,
} from "@nats-io/jetstream";
import {
  decodeHydrationEvent,
  encodePrefetchHint,
  MAX_HINT_CHUNKS,
  type PrefetchHint,
  prefetchHintSubject,
} from "../events/mod.ts";
import type { Logger } from "../log/mod.ts";
import { filesAt } from "../maint/mod.ts";
import {
  enqueueTask,
  HYDRATION_STREAM,
  newTask,
  type QueueConnection,
  type TaskHandler,
} from "../queue/mod.ts";
import { type ChunkRef, parentOf, type Repository } from "../repo/mod.ts";

/** The durable consumer of `HYDRATION_EVENTS` that workers share. */
export const PREFETCH_CONSUMER = "tcfs-prefetch";

/** Options of {@link prefetchHandler}. */
export interface PrefetchHandlerOptions {
  /** The repository. */
  repo: Repository;
  /** Where hints are published. */
  queue: Pick<QueueConnection, "js">;
  /** Most chunk bytes one hint names. */
  maxBytes: number;
}

/** The `prefetch` task handler; see the module documentation. */
export function prefetchHandler(opts: PrefetchHandlerOptions): TaskHandler<"prefetch"> {
  const { repo, queue } = opts;
  return async (task, ctx) => {
    const { device, paths } = task.payload;
    // A path gone since: nothing to warm.
    const files = filesAt(await repo.refresh(), paths, { below: false, missing: "skip" });
    const hint: PrefetchHint = {
      v: 1,
      repo: repo.config.id,
      device,
      paths: [],
      chunks: [],
      bytes: 0,
      time_ms: Date.now(),
    };
    const seen = new Set<string>();
    fill: for (const [path, version] of files) {
      ctx.signal.throwIfAborted();
      ctx.progress();
      const wanted: ChunkRef[] = [];
      for (const ref of (await repo.manifestOf(version)).chunks) {
        if (seen.has(ref.id)) continue;
        if (hint.bytes + ref.size > opts.maxBytes) break fill;
        if (hint.chunks.length + wanted.length >= MAX_HINT_CHUNKS) break fill;
        seen.add(ref.id);
        wanted.push(ref);
        hint.bytes += ref.size;
      }
      hint.chunks.push(...wanted);
      if (wanted.length > 0) hint.paths.push(path);
    }
    if (hint.chunks.length === 0) return;
    // Through JetStream: the STATE stream keeps it, and the ack says it is stored.
    await queue.js.publish(prefetchHintSubject(device), await encodePrefetchHint(repo, hint));
    ctx.log.info("prefetch hint sent", {
      device,
      files: hint.paths.length,
      chunks: hint.chunks.length,
      bytes: hint.bytes,
    });
  };
}

/** Options of {@link HydrationFollower.start}. */
export interface HydrationFollowerOptions {
  /** The worker's NATS connection. */
  queue: QueueConnection;
  /** The repository (its key opens the events). */
  repo: Repository;
  /** Logger. */
  log: Logger;
}

/** Turns hydration events into prefetch tasks; see the module documentation. */
export class HydrationFollower {
  readonly #messages: ConsumerMessages;
  readonly #done: Promise<void>;

  private constructor(messages: ConsumerMessages, opts: HydrationFollowerOptions) {
    this.#messages = messages;
    this.#done = this.#follow(opts).catch((err) => {
      // Prefetch is an optimisation: losing it must not take the worker down.
      opts.log.warn("hydration events no longer followed; prefetch is off", {
        error: (err as Error).message,
      });
    });
  }

  /** Create the shared consumer if needed and start following. */
  static async start(opts: HydrationFollowerOptions): Promise<HydrationFollower> {
    await ensurePrefetchConsumer(opts.queue.jsm);
    const consumer = await opts.queue.js.consumers.get(HYDRATION_STREAM, PREFETCH_CONSUMER);
    return new HydrationFollower(await consumer.consume({ max_messages: 64 }), opts);
  }

  async #follow({ queue, repo, log }: HydrationFollowerOptions): Promise<void> {
    for await (const msg of this.#messages) {
      try {
        const event = await decodeHydrationEvent(repo, msg.subject, msg.data);
        if (event) {
          const task = await newTask("prefetch", {
            device: event.device,
            paths: [parentOf(event.path)],
          });
          await enqueueTask(queue.js, task);
        }
        msg.ack();
      } catch (err) {
        log.warn("hydration event not turned into a prefetch task; retried", {
          error: (err as Error).message,
        });
        msg.nak(5_000);
      }
    }
  }

  /** Stop following. */
  async close(): Promise<void> {
    this.#messages.stop();
    await this.#done;
  }
}

/** Create the shared consumer of `HYDRATION_EVENTS` unless it exists (from new events on). */
async function ensurePrefetchConsumer(jsm: JetStreamManager): Promise<void> {
  const exists = await jsm.consumers.info(HYDRATION_STREAM, PREFETCH_CONSUMER).then(
    () => true,
    (err) => {
      if (err instanceof JetStreamApiError && err.status === 404) return false;
      throw err;
    },
  );
  if (exists) return;
  await jsm.consumers.add(HYDRATION_STREAM, {
    durable_name: PREFETCH_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    ack_wait: 30_000_000_000,
    max_deliver: 5,
  }).catch((err) => {
    // Another worker created it at the same moment.
    if (!(err instanceof JetStreamApiError)) throw err;
  });
}
