/**
 * Feeding the chunk cache's counters to the tcfs Prometheus metrics.
 *
 * @module
 */

import type { TcfsMetrics } from "../metrics/mod.ts";
import type { CacheEventKind, ChunkCacheStats } from "./chunk_cache.ts";

/**
 * A chunk cache `onEvent` hook counting hits, misses and
 * evictions and tracking the bytes cached in `metrics`.
 */
export function cacheMetricsHook(
  metrics: TcfsMetrics,
): (event: CacheEventKind, stats: ChunkCacheStats) => void {
  return (event, stats) => {
    if (event === "hit") metrics.chunkCacheHits.inc();
    else if (event === "miss") metrics.chunkCacheMisses.inc();
    else if (event === "evict") metrics.chunkCacheEvictions.inc();
    metrics.chunkCacheBytes.set(stats.bytes);
  };
}
