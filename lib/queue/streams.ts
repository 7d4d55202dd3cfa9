/**
 * The JetStream streams and the worker consumer tcfs uses, by name, and the
 * one place that creates them. Names are stable: deployments (the KEDA
 * trigger in `deploy/`) and other processes refer to them.
 *
 * | Stream             | Subjects                     | Retention  |
 * | ------------------ | ---------------------------- | ---------- |
 * | `SYNC_TASKS`       | `tasks.<kind>`               | work queue |
 * | `SYNC_TASKS_DLQ`   | `dlq.tasks.<kind>`           | limits     |
 * | `HYDRATION_EVENTS` | `hydration.<device>`         | limits     |
 * | `STATE`            | `STATE.<device>.<event>`     | limits     |
 *
 * Everything here works on nats-server 2.9 (no stream metadata, no
 * multi-subject consumer filters, no per-message TTL).
 *
 * @module
 */

import {
  AckPolicy,
  type ConsumerConfig,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Config } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import type { TaskKind } from "./task.ts";

/** Stream of queued tasks (work-queue retention: a task is removed once acknowledged). */
export const TASKS_STREAM = "SYNC_TASKS";
/** Subjects of {@link TASKS_STREAM}: `tasks.<kind>`. */
export const TASKS_SUBJECTS = "tasks.>";
/** Durable pull consumer every `tcfs worker` shares (the one KEDA watches). */
export const WORKER_CONSUMER = "tcfs-workers";
/** Stream of tasks given up on, each with its error. */
export const DEAD_LETTER_STREAM = "SYNC_TASKS_DLQ";
/** Subjects of {@link DEAD_LETTER_STREAM}: `dlq.tasks.<kind>`. */
export const DEAD_LETTER_SUBJECTS = "dlq.tasks.>";
/** Stream of hydration events (what was hydrated, by whom, how long). */
export const HYDRATION_STREAM = "HYDRATION_EVENTS";
/** Subjects of {@link HYDRATION_STREAM}: `hydration.<device>`. */
export const HYDRATION_SUBJECTS = "hydration.>";
/** Stream of state events (commits, deletes, renames, devices coming and going). */
export const STATE_STREAM = "STATE";
/** Subjects of {@link STATE_STREAM}: `STATE.<device>.<event>`. */
export const STATE_SUBJECTS = "STATE.>";

/** The subject a task of `kind` is published on. */
export function taskSubject(kind: TaskKind): string {
  return `tasks.${kind}`;
}

/** The subject a dead task of `kind` is published on. */
export function deadLetterSubject(kind: TaskKind | "unknown"): string {
  return `dlq.tasks.${kind}`;
}

/** Stream and consumer settings, from the `nats` and `worker` config sections. */
export interface QueueSettings {
  /** Replicas per stream. */
  replicas: number;
  /** Max age of hydration events (ms). */
  hydrationMaxAgeMs: number;
  /** Max age of state events (ms). */
  stateMaxAgeMs: number;
  /** Max age of dead letters (ms). */
  deadLetterMaxAgeMs: number;
  /** Ack wait of the worker consumer (ms). */
  ackWaitMs: number;
  /** Attempts per task. */
  maxAttempts: number;
}

/** The queue settings of `config`. */
export function queueSettings(config: Config): QueueSettings {
  const hour = 3600_000;
  return {
    replicas: config.nats.replicas,
    hydrationMaxAgeMs: config.nats.hydration_max_age_hours * hour,
    stateMaxAgeMs: config.nats.state_max_age_hours * hour,
    deadLetterMaxAgeMs: config.nats.dead_letter_max_age_days * 24 * hour,
    ackWaitMs: config.worker.ack_wait_seconds * 1000,
    maxAttempts: config.worker.max_attempts,
  };
}

/** Window in which a task published twice with the same id is stored once. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** The configuration of every stream tcfs uses. */
export function streamConfigs(s: QueueSettings): (Partial<StreamConfig> & { name: string })[] {
  const common = { storage: StorageType.File, num_replicas: s.replicas };
  return [
    {
      ...common,
      name: TASKS_STREAM,
      subjects: [TASKS_SUBJECTS],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    },
    {
      ...common,
      name: DEAD_LETTER_STREAM,
      subjects: [DEAD_LETTER_SUBJECTS],
      retention: RetentionPolicy.Limits,
      max_age: nanos(s.deadLetterMaxAgeMs),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    },
    {
      ...common,
      name: HYDRATION_STREAM,
      subjects: [HYDRATION_SUBJECTS],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(s.hydrationMaxAgeMs),
    },
    {
      ...common,
      name: STATE_STREAM,
      subjects: [STATE_SUBJECTS],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(s.stateMaxAgeMs),
    },
  ];
}

/**
 * The worker consumer's configuration. One delivery beyond `maxAttempts` is
 * allowed so that a task whose last attempt died with its worker still
 * reaches a worker, which dead-letters it instead of running it again.
 * Failed attempts are retried with a delayed negative ack (the worker's
 * backoff); the consumer-level `backoff` list is not used because on 2.9 it
 * replaces `ack_wait`, which must stay the crash-detection window.
 */
export function workerConsumerConfig(s: QueueSettings): Partial<ConsumerConfig> {
  return {
    durable_name: WORKER_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: s.maxAttempts + 1,
    max_ack_pending: 10_000,
  };
}

/**
 * Create every stream and the worker consumer, or bring existing ones to the
 * configured settings. Safe to run from many processes at once. Throws
 * {@link ConfigError} when an existing stream cannot take the settings
 * (for example a retention policy, which NATS never changes).
 */
export async function ensureStreams(jsm: JetStreamManager, s: QueueSettings): Promise<void> {
  for (const config of streamConfigs(s)) {
    const name = config.name;
    try {
      const info = await jsm.streams.info(name).catch((err) => {
        if (isNotFound(err)) return null;
        throw err;
      });
      if (!info) {
        await jsm.streams.add(config).catch(async (err) => {
          // Another process created it meanwhile; fall through to an update.
          if (!(err instanceof JetStreamApiError)) throw err;
          await jsm.streams.update(name, config);
        });
      } else if (differs(info.config as unknown as Record<string, unknown>, config)) {
        await jsm.streams.update(name, { ...info.config, ...config });
      }
    } catch (err) {
      throw new ConfigError(
        `cannot set up JetStream stream ${name}: ${(err as Error).message} ` +
          `(see docs/QUEUE.md; an incompatible stream must be removed by hand)`,
        { cause: err },
      );
    }
  }
  const consumer = workerConsumerConfig(s);
  try {
    const info = await jsm.consumers.info(TASKS_STREAM, WORKER_CONSUMER).catch((err) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (!info) await jsm.consumers.add(TASKS_STREAM, consumer);
    else if (differs(info.config as unknown as Record<string, unknown>, consumer)) {
      await jsm.consumers.update(TASKS_STREAM, WORKER_CONSUMER, consumer);
    }
  } catch (err) {
    throw new ConfigError(
      `cannot set up consumer ${WORKER_CONSUMER} on ${TASKS_STREAM}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function differs(actual: Record<string, unknown>, wanted: object): boolean {
  return Object.entries(wanted).some(([k, v]) => JSON.stringify(actual[k]) !== JSON.stringify(v));
}

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.status === 404;
}
