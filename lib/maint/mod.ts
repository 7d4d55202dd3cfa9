/**
 * Repository maintenance as plain library functions over a
 * {@linkcode Repository}: garbage collection, scrub, compaction and
 * prefetch. They hold no state between calls and are idempotent, so a queue
 * worker can run them as tasks (a redelivery does no harm) and a
 * leader-elected coordinator can schedule them. Nothing here talks to NATS.
 *
 * ```ts
 * import { collectGarbage, compactNamespace, prefetchChunks, scrubRepository } from "./lib/maint/mod.ts";
 *
 * // Coordinator-scheduled, fenced: `fence` throws once this leader is deposed.
 * const fence = () => lease.assertCurrent();
 * await compactNamespace(repo, { fence });
 * const gc = await collectGarbage(repo, { trashDays: config.sync.trash_days, fence });
 * console.log(gc.swept.data.deleted, gc.swept.packs.deletedBytes);
 *
 * // Heartbeat on progress so the queue does not redeliver a long task.
 * const scrub = await scrubRepository(repo, { sample: 0.1, onProgress: () => msg.working() });
 * for (const d of scrub.damaged) console.log(d.key, d.chunkId, d.paths, d.error);
 *
 * await prefetchChunks(repo, ["/photos/2026"], { put: (id, plain) => cache.put(id, plain) });
 * ```
 *
 * Order and timing: run {@linkcode compactNamespace} before
 * {@linkcode collectGarbage} (garbage collection reads the newest snapshot
 * older than its grace period instead of every record). The grace period
 * (default one day) must exceed the longest push and the longest
 * compaction, plus the clock skew between the worker and the store.
 *
 * @module
 */

export {
  collectGarbage,
  DEFAULT_GRACE_MS,
  type GcOptions,
  type GcProgress,
  type GcReport,
  type SweepCount,
  type SweptKind,
} from "./gc.ts";
export { compactNamespace, type CompactOptions, type CompactReport } from "./compact.ts";
export {
  type Damage,
  type ScrubOptions,
  type ScrubProgress,
  type ScrubReport,
  scrubRepository,
} from "./scrub.ts";
export {
  type ChunkSink,
  filesAt,
  type FilesAtOptions,
  prefetchChunks,
  type PrefetchOptions,
  type PrefetchReport,
} from "./prefetch.ts";
export type { Fence } from "./fence.ts";
