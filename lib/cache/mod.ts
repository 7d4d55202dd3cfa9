/**
 * The local chunk cache and what reads through it: the layer between the
 * repository (remote, encrypted chunks) and the mount (local files).
 *
 * Three pieces, one per module:
 *
 * - {@linkcode ChunkCache} (`chunk_cache.ts`): decoded chunks of ONE
 *   repository on disk under `cache.dir/<repository id>` (see
 *   {@linkcode chunkCacheDir}), with a byte quota (`cache.max_bytes`) and
 *   least-recently-used eviction, pins that eviction never touches, a memory
 *   tier of recently read chunks, single-flight loads (N readers of one chunk
 *   cost one GET) and at most `fetchConcurrency` fetches at once, urgent ones
 *   (a reader waits) before background ones (read-ahead, full fills). Every
 *   chunk file read back from disk is verified against its keyed id (once per
 *   file: an unchanged file it wrote or verified is not hashed again); a corrupt file
 *   is dropped and fetched again. {@linkcode ChunkCache.stats} feeds `statfs`;
 *   `onEvent` + {@linkcode cacheMetricsHook} feed Prometheus.
 *   {@linkcode ChunkCache.put} keeps chunks this machine already has (a file
 *   written locally, checked against the ids) and {@linkcode ChunkCache.drop}
 *   removes chunks at once (unsync); {@linkcode ChunkCache.watchRemovals}
 *   reports every chunk that leaves the cache (evicted, dropped, corrupt), so
 *   the file system can show the files needing it as stubs again. An evicted
 *   chunk leaves the memory tier too.
 * - {@linkcode RangeReader} (`range_reader.ts`): bytes `[offset, offset+len)`
 *   of a file version from the chunks that cover them, no local file needed.
 *   Sequential readers get a bounded read-ahead; random reads fetch only what
 *   they cover.
 * - {@linkcode Hydration} (`hydration.ts`): one file version made local in a
 *   sparse file. `waitFor(offset, length)` fetches the covering chunks first;
 *   `fill()` downloads the rest in order; `complete` turns true once the whole
 *   file matched its `oid`. The caller owns the file: rename it into place
 *   once complete, or delete it.
 *
 * - {@linkcode WholeFiles} (`whole_files.ts`): a hydrated file version
 *   written out once as one plain local file (`<dir>/files/<manifest id>`)
 *   from its cached chunks, for the mount to hand to the kernel (FUSE
 *   passthrough); it goes as soon as one of its chunks leaves the cache.
 *
 * What stays in the cache: chunks read through a `RangeReader` or a
 * `Hydration.waitFor` (a re-open reads them without a fetch) and chunks
 * `put` into it, not those of a full `fill()` (the hydrated file holds them;
 * copying a 1 GiB file into the cache would evict everything else).
 *
 * Typical use by the file system:
 *
 * ```ts ignore
 * import {
 *   cacheMetricsHook,
 *   ChunkCache,
 *   chunkCacheDir,
 *   ChunkReadError,
 *   Hydration,
 *   RangeReader,
 * } from "./lib/cache/mod.ts";
 *
 * // Once per mounted repository.
 * const cache = await ChunkCache.open(repo, {
 *   dir: chunkCacheDir(config, repo.config.id),
 *   maxBytes: config.cache.max_bytes,
 *   fetchConcurrency: config.transfer.concurrency,
 *   onEvent: cacheMetricsHook(metrics),
 * });
 *
 * // OPEN of a stub for reading: pin its chunks while it is open, start a
 * // hydration into a temp file; start the full fill only if policy says so
 * // (a random-access reader that never calls fill() fetches only what it reads).
 * const manifest = await repo.manifestOf(version);
 * const pin = cache.pin(manifest.chunks.map((c) => c.id));
 * const h = await Hydration.open(cache, manifest, { path: "/docs/big.iso", file: tmpPath });
 * h.fill().then(() => renameIntoPlace(tmpPath), (err) => log.warn(err.message));
 *
 * // READ(offset, size) with the request's INTERRUPT signal: returns as soon as
 * // those bytes are there, even while the fill is elsewhere in the file.
 * try {
 *   const bytes = await h.read(offset, size, signal); // or waitFor() + pread on your own fd
 * } catch (err) {
 *   if (err instanceof ChunkReadError) { log.error(err.message); return EIO; } // names chunk+file
 *   throw err; // signal.reason: the request was interrupted
 * }
 *
 * // RELEASE: stop fetching what nobody needs any more, unpin.
 * await h.close();
 * pin.release();
 *
 * // Reads without a local copy (e.g. a file too big to hydrate):
 * const reader = new RangeReader(cache, manifest, { path: "/docs/big.iso" });
 * const piece = await reader.read(900 * 2 ** 20, 4096, signal);
 *
 * // A file written here and committed: keep its chunks (false: bytes do not match the id).
await cache.put(ref.id, bytesOfThatChunk);
// Unsync: free the file's chunks now (pinned ones stay); follow what leaves the cache.
const stop = cache.watchRemovals((id) => markFilesNeeding(id).asStubs());
await cache.drop(manifest.chunks.map((c) => c.id));
stop();

// statfs: cache.stats().bytes of cache.stats().maxBytes in use.
 * await cache.close(); // at unmount: records the LRU order for the next start
 * ```
 *
 * Errors: a chunk that cannot be read is a {@linkcode ChunkReadError} (file
 * path, chunk id, the repository's error as `cause`): answer EIO and log it.
 * An aborted wait rejects with the signal's reason; the fetch it was waiting
 * for goes on while others wait for it.
 *
 * @module
 */

export {
  type CacheEventKind,
  type CachePin,
  ChunkCache,
  type ChunkCacheOptions,
  type ChunkCacheStats,
  type ChunkReadOptions,
  DEFAULT_FETCH_CONCURRENCY,
  DEFAULT_MEMORY_BYTES,
} from "./chunk_cache.ts";
export { DEFAULT_READ_AHEAD, RangeReader, type RangeReaderOptions } from "./range_reader.ts";
export { DEFAULT_FILL_WINDOW, Hydration, type HydrationOptions } from "./hydration.ts";
export { abortable, ChunkReadError, isAbort } from "./errors.ts";
export { type Priority } from "./priority_gate.ts";
export { cacheMetricsHook } from "./metrics.ts";
export { chunkCacheDir } from "./cache_dir.ts";
export { WholeFiles } from "./whole_files.ts";
