/**
 * The worker loop: pull tasks from the shared durable consumer of
 * `SYNC_TASKS`, run each with its kind's handler, and acknowledge it only
 * when it is done. While a task runs, a heartbeat (`working`) keeps NATS
 * from handing it to another worker; if the worker dies, the heartbeats stop
 * and the task comes back after the ack wait. A failed attempt is retried
 * after a delay that doubles each time (a delayed negative ack); after the
 * last attempt the task goes to `SYNC_TASKS_DLQ` with its error, and only
 * then is the original acknowledged, so a task is never lost between the
 * two. Handlers must be idempotent: any task may run more than once.
 * A handler that throws FencedOutError (its task came from a deposed
 * coordinator) has the task dropped: acknowledged, logged and counted as
 * `fenced`, never retried. One that throws PermanentTaskError has it
 * dead-lettered at once.
 *
 * @module
 */

import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { FencedOutError, NotImplementedError, TcfsError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import { errorKind, type TcfsMetrics } from "../metrics/mod.ts";
import { deadLetterSubject, TASKS_STREAM, WORKER_CONSUMER } from "./streams.ts";
import {
  type AnyTask,
  decodeTask,
  PermanentTaskError,
  type TaskContext,
  type TaskHandler,
  type TaskHandlers,
  type TaskKind,
} from "./task.ts";

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** JetStream client on a live connection. */
  js: JetStreamClient;
  /** Handler per task kind. */
  handlers: TaskHandlers;
  /** Tasks run at once. */
  concurrency: number;
  /** Attempts per task (must match the consumer's `max_deliver - 1`, see streams.ts). */
  maxAttempts: number;
  /** The consumer's ack wait (ms); heartbeats go out three times within it. */
  ackWaitMs: number;
  /** Delay before the first retry (ms); doubles per attempt, capped at {@link MAX_RETRY_DELAY_MS}. */
  retryDelayMs: number;
  /** Who this worker is, written into dead letters (e.g. its device id). */
  worker: string;
  /** Logger. */
  log: Logger;
  /** Worker metrics (tasks, durations, redeliveries, dead letters). */
  metrics?: TcfsMetrics;
  /** Stop pulling when aborted; running tasks get {@link WorkerOptions.stopGraceMs} to finish. */
  signal: AbortSignal;
  /** How long running tasks may finish after the stop (default 20 s); then they are abandoned. */
  stopGraceMs?: number;
}

/** What a worker did, returned when it stops. */
export interface WorkerSummary {
  /** Tasks completed and acknowledged. */
  ok: number;
  /** Failed attempts (retried or dead-lettered). */
  failed: number;
  /** Tasks moved to the dead-letter stream. */
  deadLettered: number;
  /** Tasks handed back unfinished at stop. */
  returned: number;
  /** Tasks dropped because they came from a deposed coordinator (a FencedOutError). */
  fenced: number;
}

/** A dead letter as stored on `dlq.tasks.<kind>`. */
export interface DeadLetter {
  /** The task as it was queued (`null` when it could not be parsed; see `raw`). */
  task: AnyTask | null;
  /** The undecodable body, when `task` is null. */
  raw?: string;
  /** The last error's message. */
  error: string;
  /** Its kind, as in `tcfs_errors_total`. */
  errorKind: string;
  /** Deliveries it had. */
  attempts: number;
  /** Which worker gave up. */
  worker: string;
  /** When (ISO 8601). */
  failedAt: string;
  /** Its sequence number in `SYNC_TASKS`. */
  streamSeq: number;
}

/** Longest delay between attempts. */
export const MAX_RETRY_DELAY_MS = 15 * 60_000;
/** How long one pull waits for tasks before asking again. */
const FETCH_EXPIRES_MS = 2_000;
/** Least time between two heartbeats that a handler's `progress()` sends. */
const PROGRESS_MIN_GAP_MS = 1_000;

/** Run tasks until `opts.signal` aborts; see the module documentation. */
export async function runWorker(opts: WorkerOptions): Promise<WorkerSummary> {
  const { js, signal, log } = opts;
  const summary: WorkerSummary = { ok: 0, failed: 0, deadLettered: 0, returned: 0, fenced: 0 };
  const consumer = await js.consumers.get(TASKS_STREAM, WORKER_CONSUMER);
  const running = new Map<Promise<void>, AbortController>();
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });

  while (!signal.aborted) {
    while (running.size >= opts.concurrency && !signal.aborted) {
      await Promise.race([stopped, ...running.keys()]);
    }
    if (signal.aborted) break;
    let batch;
    try {
      batch = await consumer.fetch({
        max_messages: opts.concurrency - running.size,
        expires: FETCH_EXPIRES_MS,
      });
    } catch (err) {
      log.warn("pulling tasks failed; retrying", { error: (err as Error).message });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 1_000))]);
      continue;
    }
    const stopBatch = () => batch.stop();
    signal.addEventListener("abort", stopBatch, { once: true });
    try {
      for await (const msg of batch) {
        // Pulled as the stop came: hand it straight back.
        if (signal.aborted) {
          msg.nak();
          summary.returned++;
          continue;
        }
        const abort = new AbortController();
        const done: Promise<void> = runOne(msg, abort.signal, opts, summary)
          .finally(() => running.delete(done));
        running.set(done, abort);
      }
    } finally {
      signal.removeEventListener("abort", stopBatch);
    }
  }

  if (running.size > 0) {
    log.info("worker stopping; waiting for running tasks", { tasks: running.size });
    const grace = opts.stopGraceMs ?? 20_000;
    const all = Promise.allSettled(running.keys());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), grace)),
    ]);
    clearTimeout(timer);
    if (late) {
      // Cut them off: each hands its task back (nak) when its handler gives up.
      for (const abort of running.values()) abort.abort(new TcfsError("the worker is stopping"));
      await all;
    }
  }
  return summary;
}

async function runOne(
  msg: JsMsg,
  signal: AbortSignal,
  opts: WorkerOptions,
  summary: WorkerSummary,
): Promise<void> {
  const { metrics, log } = opts;
  const attempt = msg.info.deliveryCount;
  let task: AnyTask;
  try {
    task = decodeTask(msg.data);
  } catch (err) {
    await deadLetter(msg, null, err, opts);
    summary.deadLettered++;
    return;
  }
  const kind = task.kind;
  if (attempt > 1) metrics?.taskRedeliveries.inc({ kind });
  if (attempt > opts.maxAttempts) {
    // Only reachable when the last attempt's worker died: give up without running it again.
    const err = new TcfsError(`its last attempt (${opts.maxAttempts}) ended with its worker`);
    await deadLetter(msg, task, err, opts);
    summary.deadLettered++;
    return;
  }
  const heartbeat = setInterval(() => msg.working(), Math.max(500, opts.ackWaitMs / 3));
  let lastProgress = 0;
  const ctx: TaskContext = {
    signal,
    attempt,
    log: log.child(`task ${kind} ${task.id}`),
    headers: msg.headers,
    progress() {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_MIN_GAP_MS) return;
      lastProgress = now;
      msg.working();
    },
  };
  const started = performance.now();
  try {
    const handler = opts.handlers[kind] as TaskHandler<TaskKind> | undefined;
    if (!handler) throw new NotImplementedError(`${kind} tasks on this worker`);
    await handler(task, ctx);
    await msg.ackAck();
    summary.ok++;
    metrics?.tasks.inc({ kind, outcome: "ok" });
  } catch (err) {
    if (err instanceof FencedOutError) {
      // Its coordinator was deposed: the new leader schedules its own run, so drop this one.
      await msg.ackAck();
      summary.fenced++;
      metrics?.tasks.inc({ kind, outcome: "fenced" });
      ctx.log.warn("task dropped: it comes from a deposed coordinator", {
        error: err.message,
      });
      return;
    }
    metrics?.tasks.inc({ kind, outcome: "error" });
    if (signal.aborted) {
      // Cut off by a stop: not the task's fault, let another worker run it now.
      msg.nak();
      summary.returned++;
      return;
    }
    summary.failed++;
    if (attempt >= opts.maxAttempts || err instanceof PermanentTaskError) {
      await deadLetter(msg, task, err, opts);
      summary.deadLettered++;
    } else {
      const delay = Math.min(MAX_RETRY_DELAY_MS, opts.retryDelayMs * 2 ** (attempt - 1));
      ctx.log.warn("task failed; it will be retried", {
        attempt,
        retry_in_ms: delay,
        error: (err as Error).message,
      });
      msg.nak(delay);
    }
  } finally {
    clearInterval(heartbeat);
    metrics?.taskSeconds.observe({ kind }, (performance.now() - started) / 1000);
  }
}

/** Publish the dead letter, then acknowledge the original (in that order: never lose it). */
async function deadLetter(
  msg: JsMsg,
  task: AnyTask | null,
  err: unknown,
  opts: WorkerOptions,
): Promise<void> {
  const letter: DeadLetter = {
    task,
    error: (err as Error)?.message ?? String(err),
    errorKind: errorKind(err),
    attempts: msg.info.deliveryCount,
    worker: opts.worker,
    failedAt: new Date().toISOString(),
    streamSeq: msg.info.streamSequence,
  };
  if (!task) letter.raw = new TextDecoder().decode(msg.data).slice(0, 4096);
  // The id makes a repeat (this worker died between publish and ack) a no-op.
  await opts.js.publish(deadLetterSubject(task?.kind ?? "unknown"), JSON.stringify(letter), {
    msgID: `dlq-${task?.id ?? "seq"}-${msg.info.streamSequence}`,
  });
  await msg.ackAck();
  if (task) opts.metrics?.deadLetters.inc({ kind: task.kind });
  else opts.metrics?.errors.inc({ kind: "integrity" });
  opts.log.error("task dead-lettered", {
    task: task?.id,
    kind: task?.kind,
    attempts: letter.attempts,
    error: letter.error,
  });
}
