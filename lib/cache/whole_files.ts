/**
 * Whole files: a file version whose chunks are all in the chunk cache,
 * written out once as one plain local file holding exactly its bytes, so
 * the kernel can serve reads of it by itself (FUSE passthrough) instead of
 * every byte crossing the mount's userspace loop.
 *
 * ```text
 * <cache dir>/files/<manifest id>         the file version's bytes, mode 0600
 * <cache dir>/files/<manifest id>.tmp-<n> a write in progress
 * ```
 *
 * Verified by construction: the bytes come from {@linkcode ChunkCache.read},
 * which checks every chunk against its keyed id, and a file gets its final
 * name by rename only once every chunk is in it. Lifetime: a whole file goes
 * (unlinked) as soon as one of its chunks leaves the cache (evicted over the
 * quota, dropped by an unsync), so it exists only while its file is
 * hydrated; a file opened through passthrough keeps reading it, because the
 * kernel holds its own reference. The directory is emptied when opened:
 * whole files of an earlier run are not tracked, so they are not reused.
 *
 * Quota: whole files are NOT counted in `cache.max_bytes`. Each duplicates
 * chunks the cache already counts and is made only by a mount serving
 * reads through passthrough (when a file becomes hydrated there, or at its
 * first read-only open); their own total is kept under the
 * same quota (least recently used go first), so the cache directory holds at
 * most twice `cache.max_bytes`. Counting them in the chunk quota would evict
 * the very chunks that make the file hydrated.
 *
 * @module
 */

import { join } from "node:path";
import type { Manifest } from "../repo/mod.ts";
import type { ChunkCache } from "./chunk_cache.ts";
import { removeQuietly } from "./cache_dir.ts";
import { SizedLru } from "./sized_lru.ts";

/** Chunks read ahead of the one being written. */
const READ_AHEAD = 4;

/** Plain local copies of hydrated file versions; see the module documentation. */
export class WholeFiles {
  /** Where the whole files live. */
  readonly dir: string;
  readonly #cache: ChunkCache;
  /** Whole files on disk by manifest id, least recently used first, with their sizes. */
  readonly #files = new SizedLru<Manifest>();
  /** Chunk id → manifest ids of whole files made from it. */
  readonly #users = new Map<string, Set<string>>();
  /** Whole files being written (single flight per manifest id). */
  readonly #making = new Map<string, Promise<string | undefined>>();
  /** Manifest ids whose write lost a chunk meanwhile (the result is thrown away). */
  readonly #spoiled = new Set<string>();
  readonly #stopWatching: () => void;
  #tmpSeq = 0;

  private constructor(cache: ChunkCache, dir: string) {
    this.#cache = cache;
    this.dir = dir;
    this.#stopWatching = cache.watchRemovals((id) => this.#chunkGone(id));
  }

  /** Whole files of `cache`, in `<cache.dir>/files` (emptied now; created mode 0700). */
  static async open(cache: ChunkCache): Promise<WholeFiles> {
    const dir = join(cache.dir, "files");
    await Deno.remove(dir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    return new WholeFiles(cache, dir);
  }

  /** Bytes of the whole files on disk. */
  get bytes(): number {
    return this.#files.bytes;
  }

  /**
   * The path of the whole file of manifest `id` (`m`), written now if it is
   * not there yet; undefined when a chunk of it is not cached (the file is
   * not hydrated), when it is larger than the quota, or when a chunk left
   * the cache while it was being written. Concurrent calls share one write.
   */
  get(id: string, m: Manifest): Promise<string | undefined> {
    if (this.#files.has(id)) {
      this.#files.use(id);
      return Promise.resolve(join(this.dir, id));
    }
    let making = this.#making.get(id);
    if (!making) {
      making = this.#make(id, m).finally(() => this.#making.delete(id));
      this.#making.set(id, making);
    }
    return making;
  }

  /** Whether the whole file of manifest `id` is on disk now. */
  has(id: string): boolean {
    return this.#files.has(id);
  }

  /** Stop following the cache (whole files stay on disk until the next open). */
  close(): void {
    this.#stopWatching();
  }

  async #make(id: string, m: Manifest): Promise<string | undefined> {
    if (m.size > this.#cache.maxBytes || !m.chunks.every((c) => this.#cache.has(c.id))) {
      return undefined;
    }
    this.#spoiled.delete(id);
    for (const c of m.chunks) this.#usersOf(c.id).add(id);
    const tmp = join(this.dir, `${id}.tmp-${this.#tmpSeq++}`);
    // Held while it is written, so the file's last chunks cannot evict its first ones.
    using _pin = this.#cache.pin(m.chunks.map((c) => c.id));
    try {
      using f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      const reads = m.chunks.map(() => undefined as Promise<Uint8Array> | undefined);
      const readAt = (i: number) =>
        reads[i] ??= this.#cache.read(m.chunks[i], { priority: "background" });
      for (let i = 0; i < m.chunks.length; i++) {
        for (let j = i + 1; j <= i + READ_AHEAD && j < m.chunks.length; j++) readAt(j);
        const data = await readAt(i);
        reads[i] = undefined;
        for (let done = 0; done < data.length;) done += await f.write(data.subarray(done));
      }
      if (this.#spoiled.has(id)) {
        await removeQuietly(tmp);
        this.#forgetUsers(id, m);
        return undefined;
      }
      await Deno.rename(tmp, join(this.dir, id));
    } catch (err) {
      await removeQuietly(tmp);
      this.#forgetUsers(id, m);
      throw err;
    }
    this.#files.set(id, m, m.size);
    for (const gone of this.#files.trim(this.#cache.maxBytes, (key) => key === id)) {
      void this.#remove(gone);
    }
    return join(this.dir, id);
  }

  #usersOf(chunk: string): Set<string> {
    let ids = this.#users.get(chunk);
    if (!ids) this.#users.set(chunk, ids = new Set());
    return ids;
  }

  #forgetUsers(id: string, m: Manifest): void {
    for (const c of m.chunks) {
      const ids = this.#users.get(c.id);
      ids?.delete(id);
      if (ids?.size === 0) this.#users.delete(c.id);
    }
  }

  /** Chunk `chunk` left the cache: whole files made from it go (being written: discarded). */
  #chunkGone(chunk: string): void {
    for (const id of [...this.#users.get(chunk) ?? []]) {
      if (this.#making.has(id)) this.#spoiled.add(id);
      if (this.#files.has(id)) void this.#remove(id);
    }
  }

  async #remove(id: string): Promise<void> {
    const m = this.#files.use(id);
    this.#files.delete(id);
    if (m) this.#forgetUsers(id, m);
    await removeQuietly(join(this.dir, id));
  }
}
