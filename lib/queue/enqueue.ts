/**
 * Putting tasks on `SYNC_TASKS`. An ingest is fanned out: the source prefix
 * is listed once, here, and every batch of keys becomes one task that any
 * worker can run. Task ids come from their content, so enqueueing the same
 * ingest again within the stream's duplicate window adds nothing, and even
 * later the tasks themselves skip what is already committed.
 *
 * @module
 */

import type { JetStreamClient } from "@nats-io/jetstream";
import { listAll, type ObjectStore } from "../storage/mod.ts";
import { taskSubject } from "./streams.ts";
import { encodeTask, type IngestObject, newTask, type Task, type TaskKind } from "./task.ts";

/** Publishes in flight at once while fanning out. */
const PUBLISH_WINDOW = 64;

/** Publish one task; resolves to false when the stream already had it (a duplicate id). */
export async function enqueueTask<K extends TaskKind>(
  js: JetStreamClient,
  task: Task<K>,
): Promise<boolean> {
  const ack = await js.publish(taskSubject(task.kind), encodeTask(task), { msgID: task.id });
  return !ack.duplicate;
}

/** Options of {@link enqueueIngest}. */
export interface IngestRequest {
  /** The source store, open (its URL is what workers open). */
  source: ObjectStore;
  /** Source URL as workers should open it, e.g. `s3://bucket/prefix`. */
  sourceUrl: string;
  /** Remote directory the keys land under. */
  to: string;
  /** Objects per task. */
  batch: number;
  /** Told after each published batch. */
  onBatch?: (summary: IngestEnqueued) => void;
}

/** What {@link enqueueIngest} published. */
export interface IngestEnqueued {
  /** Tasks published (duplicates included). */
  tasks: number;
  /** Tasks the stream already held (the same ingest enqueued again). */
  duplicates: number;
  /** Objects listed. */
  objects: number;
  /** Their total size. */
  bytes: number;
}

/** List the source and publish one `ingest` task per batch of keys. */
export async function enqueueIngest(
  js: JetStreamClient,
  req: IngestRequest,
): Promise<IngestEnqueued> {
  const out: IngestEnqueued = { tasks: 0, duplicates: 0, objects: 0, bytes: 0 };
  const inFlight = new Set<Promise<void>>();
  const publish = async (objects: IngestObject[]) => {
    while (inFlight.size >= PUBLISH_WINDOW) await Promise.race(inFlight);
    const task = await newTask("ingest", { source: req.sourceUrl, to: req.to, objects });
    const p: Promise<void> = enqueueTask(js, task).then((fresh) => {
      if (!fresh) out.duplicates++;
      out.tasks++;
      req.onBatch?.(out);
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  let batch: IngestObject[] = [];
  for await (const o of listAll(req.source, "")) {
    batch.push({ key: o.key, size: o.size, mtime: o.lastModified?.getTime() ?? 0 });
    out.objects++;
    out.bytes += o.size;
    if (batch.length >= req.batch) {
      await publish(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await publish(batch);
  await Promise.all(inFlight);
  return out;
}
