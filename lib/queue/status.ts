/**
 * How the queue stands: tasks waiting and running, redeliveries, dead
 * letters (what `tcfs worker status` prints and tests assert on), and the
 * dead letters themselves.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import { DEAD_LETTER_STREAM, TASKS_STREAM, WORKER_CONSUMER } from "./streams.ts";
import type { DeadLetter } from "./worker.ts";

/** Counts of the task queue. */
export interface QueueStatus {
  /** Tasks in `SYNC_TASKS` (waiting, running or waiting for a retry). */
  tasks: number;
  /** Tasks the worker consumer has not delivered yet. */
  pending: number;
  /** Tasks delivered and not yet acknowledged (running, or lost with a worker). */
  running: number;
  /** Tasks delivered more than once (since the consumer was created). */
  redelivered: number;
  /** Tasks in `SYNC_TASKS_DLQ`. */
  deadLetters: number;
}

/** Read the queue's counts. */
export async function queueStatus(jsm: JetStreamManager): Promise<QueueStatus> {
  const tasks = await jsm.streams.info(TASKS_STREAM);
  const consumer = await jsm.consumers.info(TASKS_STREAM, WORKER_CONSUMER);
  const dlq = await jsm.streams.info(DEAD_LETTER_STREAM);
  return {
    tasks: tasks.state.messages,
    pending: consumer.num_pending,
    running: consumer.num_ack_pending,
    redelivered: consumer.num_redelivered,
    deadLetters: dlq.state.messages,
  };
}

/** The dead letters still kept, oldest first (at most `limit`). */
export async function listDeadLetters(
  jsm: JetStreamManager,
  limit = 1000,
): Promise<DeadLetter[]> {
  const { state } = await jsm.streams.info(DEAD_LETTER_STREAM);
  const out: DeadLetter[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && out.length < limit; seq++) {
    const m = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq }).catch(() => null);
    if (m) out.push(m.json<DeadLetter>());
  }
  return out;
}
