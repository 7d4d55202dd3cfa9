import assert from "node:assert/strict";
import { join } from "node:path";
import { createTcfsMetrics } from "../metrics/mod.ts";
import { syntheticRepo } from "./_testing.ts";
import { ChunkCache } from "./chunk_cache.ts";
import { cacheMetricsHook } from "./metrics.ts";

Deno.test("cacheMetricsHook feeds the chunk cache metrics", async () => {
  await using f = await syntheticRepo(4 * 1024 * 1024, 5);
  const metrics = createTcfsMetrics();
  const [c0, c1] = f.manifest.chunks;
  const cache = await ChunkCache.open(f.repo, {
    dir: join(f.tmp, "cache"),
    maxBytes: c0.size + c1.size - 1, // room for one of them
    onEvent: cacheMetricsHook(metrics),
  });
  await cache.read(c0);
  await cache.read(c0);
  // c0 is on disk before c1 arrives, so c0 is the one least recently stored and evicted.
  await cache.idle();
  await cache.read(c1);
  await cache.close();
  assert.equal(metrics.chunkCacheMisses.value(), 2);
  assert.equal(metrics.chunkCacheHits.value(), 1);
  assert.equal(metrics.chunkCacheEvictions.value(), 1);
  assert.equal(metrics.chunkCacheBytes.value(), c1.size);
  assert.match(await metrics.registry.expose(), /^tcfs_chunk_cache_bytes \d+$/m);
});
