/**
 * Task envelopes: what travels on `SYNC_TASKS`. Each is JSON with a format
 * version, a kind (which is also its subject, `tasks.<kind>`), a stable id
 * (the JetStream message id, so enqueueing the same task twice within the
 * stream's duplicate window stores it once) and a kind-specific payload.
 * Attempts are not in the envelope: JetStream counts deliveries, and the
 * worker hands the count to the handler.
 *
 * Handlers are plain async functions registered per kind in a
 * {@link TaskHandlers} map, so any layer's operation (ingest here, the
 * maintenance jobs elsewhere) plugs into the worker unchanged.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import { TASK_KINDS, type TaskKind } from "../metrics/mod.ts";

export { TASK_KINDS, type TaskKind };

/** One object of an ingest batch, as the source listing described it. */
export interface IngestObject {
  /** Key relative to the source prefix; also the path under the target directory. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Last-modified time (ms since the epoch); becomes the file's mtime. */
  mtime: number;
}

/** Payload of an `ingest` task: copy a batch of plain objects into the repository. */
export interface IngestPayload {
  /** Source store URL, e.g. `s3://bucket/prefix` (the same S3 settings as the repository). */
  source: string;
  /** Remote directory the keys land under. */
  to: string;
  /** The batch. */
  objects: IngestObject[];
}

/** Payload of each task kind. Maintenance payloads carry only optional tuning. */
export interface TaskPayloads {
  /** See {@link IngestPayload}. */
  ingest: IngestPayload;
  /** Fold commit records into snapshots and directory listings. */
  compact: Record<string, never>;
  /** Mark and sweep unreferenced chunks, sparing those younger than the grace period. */
  gc: { graceSeconds?: number };
  /** Verify stored chunks; `sample` is the share to check (default all). */
  scrub: { sample?: number };
  /** Warm a device's likely-needed chunks. */
  prefetch: { device: string; paths: string[] };
}

/** A task of kind `K`. */
export interface Task<K extends TaskKind = TaskKind> {
  /** Envelope format version. */
  v: 1;
  /** What to do. */
  kind: K;
  /** Stable id (hex); the same work always gets the same id. */
  id: string;
  /** When it was enqueued (ISO 8601). */
  created: string;
  /** What to do it on. */
  payload: TaskPayloads[K];
}

/** Any task, discriminated by `kind`. */
export type AnyTask = { [K in TaskKind]: Task<K> }[TaskKind];

/** What a handler may use while it runs. */
export interface TaskContext {
  /** Aborted when the worker stops or gives the task up; stop promptly, committing nothing half-done. */
  signal: AbortSignal;
  /** Heartbeat: tells NATS the task is alive (resets its ack wait). Cheap; call it often. */
  progress(): void;
  /** This delivery's number, from 1; above 1 the task ran before (idempotence matters). */
  attempt: number;
  /** Logger for the task. */
  log: Logger;
  /** The message's NATS headers (e.g. a coordinator's fencing token), if it had any. */
  headers?: TaskHeaders;
}

/** Read access to a task message's NATS headers. */
export interface TaskHeaders {
  /** The value of header `name` (empty when absent). */
  get(name: string): string;
}

/** Runs one task of kind `K`; resolves when done, throws to have it retried. */
export type TaskHandler<K extends TaskKind> = (task: Task<K>, ctx: TaskContext) => Promise<void>;

/** The handler of each kind a worker runs; a kind without one fails its tasks (and retries). */
export type TaskHandlers = { [K in TaskKind]?: TaskHandler<K> };

/**
 * Running the task again cannot change its outcome (e.g. a scrub that found
 * damage): it goes to the dead-letter stream at once, with this message.
 */
export class PermanentTaskError extends IntegrityError {}

/** A task that can never succeed as sent (malformed, unknown kind): dead-lettered at once. */
export class MalformedTaskError extends PermanentTaskError {}

/** Make a task; its id is derived from kind and payload, so the same work gets the same id. */
export async function newTask<K extends TaskKind>(
  kind: K,
  payload: TaskPayloads[K],
): Promise<Task<K>> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify([kind, payload])),
  );
  const id = Array.from(
    new Uint8Array(digest).subarray(0, 16),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return { v: 1, kind, id, created: new Date().toISOString(), payload };
}

/** The bytes of a task on the wire. */
export function encodeTask(task: AnyTask | Task): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(task));
}

/** Parse and validate a task from the wire; throws {@link MalformedTaskError}. */
export function decodeTask(body: Uint8Array): AnyTask {
  let t: Record<string, unknown>;
  try {
    t = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new MalformedTaskError("task is not valid UTF-8 JSON");
  }
  const bad = (why: string) => new MalformedTaskError(`malformed task: ${why}`);
  if (typeof t !== "object" || t === null || t.v !== 1) throw bad("unknown envelope version");
  if (!(TASK_KINDS as readonly unknown[]).includes(t.kind)) {
    throw bad(`unknown kind ${JSON.stringify(t.kind)}`);
  }
  if (typeof t.id !== "string" || !/^[0-9a-f]{8,64}$/.test(t.id)) throw bad("bad id");
  if (typeof t.created !== "string") throw bad("bad created time");
  const p = t.payload;
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw bad("payload not an object");
  if (t.kind === "ingest") checkIngest(p as Record<string, unknown>, bad);
  if (t.kind === "prefetch") {
    const { device, paths } = p as Record<string, unknown>;
    if (typeof device !== "string" || !isStringArray(paths)) throw bad("bad prefetch payload");
  }
  return t as unknown as AnyTask;
}

function checkIngest(p: Record<string, unknown>, bad: (why: string) => Error): void {
  if (typeof p.source !== "string" || typeof p.to !== "string") throw bad("ingest: source or to");
  if (!Array.isArray(p.objects)) throw bad("ingest: objects is not a list");
  for (const o of p.objects as Record<string, unknown>[]) {
    if (
      typeof o?.key !== "string" || o.key === "" || !Number.isSafeInteger(o.size) ||
      (o.size as number) < 0 || !Number.isSafeInteger(o.mtime) || (o.mtime as number) < 0
    ) throw bad("ingest: an object lacks key, size or mtime");
  }
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === "string");
}
