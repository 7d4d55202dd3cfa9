/**
 * The tasks the coordinator publishes: ordinary `SYNC_TASKS` envelopes
 * (lib/queue), with an id derived from the job and its run number, so that
 * publishing the same run again (after a lost acknowledgement, or by the
 * next leader) is deduplicated by JetStream, and the scheduling leader's
 * fencing token in the {@link FENCE_TOKEN_HEADER} header.
 *
 * @module
 */

import type { JetStreamClient } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { encodeTask, newTask, type Task, taskSubject } from "../queue/mod.ts";
import { FENCE_TOKEN_HEADER, type ScheduledJob, type ScheduledRun } from "./coordinator.ts";

/** The task of a scheduled run. */
export async function taskOfRun(run: ScheduledRun): Promise<Task<ScheduledJob>> {
  const task = await newTask<ScheduledJob>(run.job, {});
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`tcfs-coordinator/${run.job}/${run.run}`),
  );
  const id = Array.from(
    new Uint8Array(digest).subarray(0, 16),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  return { ...task, id };
}

/** A publisher of scheduled runs to `SYNC_TASKS` through `js`. */
export function runPublisher(js: JetStreamClient): (run: ScheduledRun) => Promise<void> {
  return async (run) => {
    const task = await taskOfRun(run);
    const h = headers();
    h.set(FENCE_TOKEN_HEADER, String(run.token));
    await js.publish(taskSubject(task.kind), encodeTask(task), { msgID: task.id, headers: h });
  };
}
