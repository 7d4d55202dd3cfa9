/**
 * The types a chunk cache is configured and observed through: its options,
 * the events and counters it reports, read options and pins.
 *
 * @module
 */

import type { Priority } from "./priority_gate.ts";

/** Options of `ChunkCache.open`. */
export interface ChunkCacheOptions {
  /** This repository's cache directory (see `chunkCacheDir` in cache_dir.ts); created mode 0700. */
  dir: string;
  /** Quota of the files on disk, in bytes. */
  maxBytes: number;
  /** Chunk fetches from the repository at once (default `DEFAULT_FETCH_CONCURRENCY`). */
  fetchConcurrency?: number;
  /** Bytes of decoded chunks kept in memory (default `DEFAULT_MEMORY_BYTES`; 0: none). */
  memoryBytes?: number;
  /** Told about every hit, miss, chunk stored, eviction, drop and corrupt file (for metrics). */
  onEvent?: (event: CacheEventKind, stats: ChunkCacheStats) => void;
}

/**
 * What {@linkcode ChunkCacheOptions.onEvent} reports: `drop` is a chunk
 * removed on request (`ChunkCache.drop`), `evict` one removed to stay under
 * the quota.
 */
export type CacheEventKind = "hit" | "miss" | "store" | "evict" | "drop" | "corrupt";

/** Options of `ChunkCache.read`. */
export interface ChunkReadOptions {
  /** Stop waiting when aborted; the fetch goes on while other readers still wait for it. */
  signal?: AbortSignal;
  /** `urgent` (default: a reader waits) or `background` (read-ahead, sequential fill). */
  priority?: Priority;
  /** Keep the chunk in the cache after fetching it (default true; false for a full hydration). */
  keep?: boolean;
}

/** A counter snapshot, for statfs and metrics. */
export interface ChunkCacheStats {
  /** Reads answered from the cache (memory or disk); readers sharing one load count once. */
  hits: number;
  /** Chunks fetched from the repository. */
  misses: number;
  /** Chunks evicted to stay under the quota. */
  evictions: number;
  /** Chunks removed on request (`ChunkCache.drop`, e.g. an unsync). */
  dropped: number;
  /** Cache files dropped because their length or hash was wrong. */
  corrupt: number;
  /** Cache files that could not be written (the read itself succeeded). */
  writeErrors: number;
  /** Bytes of the chunk files on disk. */
  bytes: number;
  /** Chunk files on disk. */
  entries: number;
  /** The quota. */
  maxBytes: number;
  /** Bytes of the chunks on disk that are pinned. */
  pinnedBytes: number;
  /** Fetches running now. */
  fetching: number;
  /** Fetches waiting for a slot. */
  queued: number;
}

/** Chunks held in the cache until {@linkcode CachePin.release} (also `using`). */
export interface CachePin extends Disposable {
  /** Let the chunks be evicted again; calling it twice does nothing. */
  release(): void;
}
