/**
 * The `ingest` task: copy a batch of plain objects from another bucket (or
 * prefix) into the repository, each key becoming a file under the task's
 * target directory with the object's size and last-modified time. Content
 * goes through the same path as `tcfs push` (inline when tiny, else chunked,
 * deduplicated, packed and encrypted) and the batch is committed as one
 * record of the worker's own log.
 *
 * Idempotent: a key whose file is already committed with the listed size and
 * mtime is skipped without being read, and one whose content turns out to be
 * what is committed is not committed again. Two workers that run the same
 * batch at once commit identical versions, which the namespace shows as one
 * (no conflict). Objects that fail (gone since the listing, unusable names)
 * do not stop the rest: the others are committed, then the task fails with
 * the failures, so retries redo only those and the dead letter names them.
 *
 * @module
 */

import { storeContent } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import {
  ChunkWriter,
  type Namespace,
  type NewVersion,
  normalizeRemotePath,
  type PathVersion,
  type Repository,
  unsafeNameReason,
} from "../repo/mod.ts";
import { mapLimit, type ObjectStore } from "../storage/mod.ts";
import type { IngestObject, TaskContext, TaskHandler } from "./task.ts";

/** What the ingest handler needs. */
export interface IngestDeps {
  /** The repository, opened with this worker's key. */
  repo: Repository;
  /** This worker's device id (its commit log). */
  device: string;
  /** Open a source store by URL (e.g. with the repository's S3 settings). */
  openSource(url: string): Promise<ObjectStore>;
  /** Source reads and uploads in flight per task. */
  concurrency: number;
}

/** An ingest handler and the resources it keeps between tasks. */
export interface IngestHandler {
  /** The handler to register for `ingest`. */
  handler: TaskHandler<"ingest">;
  /** Close the source stores it opened. */
  close(): Promise<void>;
}

/** Objects larger than this are read in ranges of this size. */
const READ_PIECE = 8 * 1024 * 1024;
/** File mode of ingested objects (S3 objects have none). */
const INGEST_MODE = 0o644;
/** How many failed keys a task's error names. */
const NAMED_FAILURES = 5;

/** Make the handler; one per worker process (it keeps the namespace between tasks). */
export function ingestHandler(deps: IngestDeps): IngestHandler {
  const { repo } = deps;
  const sources = new Map<string, Promise<ObjectStore>>();
  let ns: Namespace | undefined;
  let refreshing: Promise<Namespace> | null = null;
  // One refresh at a time; tasks that ask meanwhile share it.
  const refresh = () =>
    refreshing ??= repo.refresh(ns).then((n) => ns = n).finally(() => refreshing = null);

  const handler: TaskHandler<"ingest"> = async (task, ctx) => {
    const { payload } = task;
    const to = normalizeRemotePath(payload.to);
    let source = sources.get(payload.source);
    if (!source) {
      source = deps.openSource(payload.source);
      sources.set(payload.source, source);
      source.catch(() => sources.delete(payload.source));
    }
    const store = await source;
    const current = await refresh();
    ctx.progress();
    const writer = new ChunkWriter(repo.store, repo.codec, {
      known: new Map(),
      concurrency: deps.concurrency,
      packThreshold: repo.config.packThreshold,
      packTarget: repo.config.packTarget,
      // Tasks run side by side; small objects gain nothing from worker threads.
      encodeWorkers: 0,
    });
    const versions: NewVersion[] = [];
    const failures: string[] = [];
    try {
      await mapLimit(payload.objects, deps.concurrency, async (o) => {
        ctx.signal.throwIfAborted();
        try {
          const v = await ingestOne(repo, writer, store, current, to, o, ctx);
          if (v) versions.push(v);
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          failures.push(`${o.key}: ${(err as Error).message}`);
        }
        ctx.progress();
      });
      if (versions.length > 0) {
        await writer.flush();
        ctx.signal.throwIfAborted();
        await repo.commit(deps.device, current, versions);
      }
    } finally {
      await writer.close();
    }
    ctx.log.debug("ingest batch done", {
      committed: versions.length,
      skipped: payload.objects.length - versions.length - failures.length,
      failed: failures.length,
    });
    if (failures.length > 0) {
      throw new TcfsError(
        `${failures.length} of ${payload.objects.length} objects from ${payload.source} ` +
          `failed: ${failures.slice(0, NAMED_FAILURES).join("; ")}`,
      );
    }
  };
  return {
    handler,
    async close() {
      for (const s of sources.values()) await (await s.catch(() => null))?.close();
      sources.clear();
    },
  };
}

/** Store one object; returns its new version, or null when the repository has it already. */
async function ingestOne(
  repo: Repository,
  writer: ChunkWriter,
  store: ObjectStore,
  ns: Namespace,
  to: string,
  o: IngestObject,
  ctx: TaskContext,
): Promise<NewVersion | null> {
  const path = targetPath(to, o.key);
  const existing = ns.get(path);
  if (existing?.kind === "file" && existing.size === o.size && existing.mtime === o.mtime) {
    return null;
  }
  const stored = await storeContent(repo, writer, pieces(store, o, ctx.signal), o.size);
  if (existing?.kind === "file" && existing.size === stored.size) {
    if (await oidOf(repo, existing) === stored.oid) return null;
  }
  return {
    path,
    deleted: false,
    kind: "file",
    mode: INGEST_MODE,
    mtime: o.mtime,
    size: stored.size,
    manifestId: stored.manifestId,
    manifest: stored.manifest,
  };
}

/** The repository path of a source key; throws when a component cannot be a file name. */
export function targetPath(to: string, key: string): string {
  for (const part of key.split("/")) {
    const why = unsafeNameReason(part);
    if (why) throw new TcfsError(`key cannot be a path: ${why}`);
  }
  return to === "/" ? `/${key}` : `${to}/${key}`;
}

async function oidOf(repo: Repository, v: PathVersion): Promise<string> {
  return (await repo.manifestOf(v)).oid;
}

/** The object's bytes, whole when small, else in ranges. */
async function* pieces(
  store: ObjectStore,
  o: IngestObject,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  if (o.size <= READ_PIECE) {
    yield await store.get(o.key, undefined, signal);
    return;
  }
  for (let offset = 0; offset < o.size; offset += READ_PIECE) {
    const piece = await store.get(o.key, { offset, length: READ_PIECE }, signal);
    if (piece.length === 0) return;
    yield piece;
  }
}
