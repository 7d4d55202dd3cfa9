/**
 * The chunk cache: decoded (plaintext) chunks of one repository kept on local
 * disk under a byte quota, with least-recently-used eviction, pins, a small
 * memory tier, single-flight fetches and a bounded, prioritised number of
 * fetches at once. It is an explicit component with its own limits, in the
 * manner of rclone's VFS cache, not a side effect of reads.
 *
 * Chunk ids are keyed hashes of the plaintext, so every chunk file read from
 * disk is checked against its id before it is first served (see
 * {@linkcode ChunkCache.read}).
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import type { ChunkRef, Repository } from "../repo/mod.ts";
import {
  chunkPath,
  type FileStamp,
  readStampedChunk,
  removeQuietly,
  sameStamp,
  scanCacheDir,
  writeIndex,
  writeStampedChunk,
} from "./cache_dir.ts";
import type {
  CacheEventKind,
  CachePin,
  ChunkCacheOptions,
  ChunkCacheStats,
  ChunkReadOptions,
} from "./cache_types.ts";
import { type Flight, waitForFlight } from "./flight.ts";
import { PriorityGate } from "./priority_gate.ts";
import { SizedLru } from "./sized_lru.ts";

export type { CacheEventKind, CachePin, ChunkCacheOptions, ChunkCacheStats, ChunkReadOptions };

/** Default number of chunk fetches from the repository at once. */
export const DEFAULT_FETCH_CONCURRENCY = 8;
/** Default size of the memory tier (recently read chunks kept decoded in RAM). */
export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;

const COUNTER_OF = {
  hit: "hits",
  miss: "misses",
  evict: "evictions",
  drop: "dropped",
  corrupt: "corrupt",
} as const;

/** An on-disk LRU cache of one repository's decoded chunks; see the module documentation. */
export class ChunkCache {
  /** The cache directory. */
  readonly dir: string;
  /** The quota in bytes. */
  readonly maxBytes: number;
  readonly #repo: Repository;
  readonly #gate: PriorityGate;
  readonly #onEvent?: ChunkCacheOptions["onEvent"];
  /**
   * Chunk files on disk by id, with their sizes, least recently used first,
   * and the stamp of the file as this process last wrote or verified it
   * (null: not checked yet).
   */
  readonly #disk = new SizedLru<FileStamp | null>();
  /** Recently read chunks, decoded. */
  readonly #memory = new SizedLru<Uint8Array>();
  readonly #memoryMax: number;
  readonly #pins = new Map<string, number>();
  readonly #flights = new Map<string, Flight>();
  /** Chunk files being written. */
  readonly #writing = new Map<string, Promise<void>>();
  readonly #tails = new Set<Promise<void>>();
  readonly #counts = { hits: 0, misses: 0, evictions: 0, dropped: 0, corrupt: 0, writeErrors: 0 };
  readonly #removalWatchers = new Set<(id: string) => void>();
  #closed = false;

  private constructor(repo: Repository, opts: ChunkCacheOptions) {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) {
      throw new RangeError(`cache quota must be a byte count, got ${opts.maxBytes}`);
    }
    this.#repo = repo;
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.#gate = new PriorityGate(opts.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY);
    this.#memoryMax = opts.memoryBytes ?? DEFAULT_MEMORY_BYTES;
    this.#onEvent = opts.onEvent;
  }

  /**
   * Open (or create) the cache in `opts.dir` for `repo`: the chunks already
   * there are indexed in their last recorded LRU order and, if the quota
   * shrank, evicted down to it.
   */
  static async open(repo: Repository, opts: ChunkCacheOptions): Promise<ChunkCache> {
    const cache = new ChunkCache(repo, opts);
    for (const f of await scanCacheDir(opts.dir)) {
      cache.#disk.set(f.id, null, f.size);
    }
    await cache.#evict();
    return cache;
  }

  /** The repository whose chunks this cache holds. */
  get repository(): Repository {
    return this.#repo;
  }

  /** Whether chunk `id` is in the cache (memory or disk) right now. */
  has(id: string): boolean {
    return this.#memory.has(id) || this.#disk.has(id);
  }

  /**
   * The plaintext of the chunk `ref`, from memory, from disk or fetched from
   * the repository (and then kept unless `keep` is false). Concurrent reads
   * of one chunk share one load. The returned bytes are shared: never modify
   * them.
   *
   * Every chunk read from disk is checked against its length AND its keyed
   * BLAKE3 id, and dropped and fetched again if either is wrong. Length
   * alone would catch truncation but not a flipped bit or a file swapped by
   * another local process, and this cache is what a file read returns: wrong
   * bytes must never get through. The hash runs once per file: a chunk file
   * this process wrote or verified is remembered by its stamp (inode, size,
   * times) and served unhashed while the stamp is unchanged, so re-reading
   * a hydrated file costs no hashing; any change to the file means hashing
   * it again.
   *
   * Throws the repository's error when the fetch fails (IntegrityError,
   * StorageError, ...) and `signal.reason` when aborted.
   */
  async read(ref: ChunkRef, opts: ChunkReadOptions = {}): Promise<Uint8Array> {
    if (this.#closed) throw new TcfsError(`the chunk cache in ${this.dir} is closed`);
    opts.signal?.throwIfAborted();
    const keep = opts.keep ?? true;
    const urgent = (opts.priority ?? "urgent") === "urgent";
    const inMemory = this.#memory.use(ref.id);
    if (inMemory) {
      this.#disk.use(ref.id);
      this.#count("hit");
      return inMemory;
    }
    let flight = this.#flights.get(ref.id);
    if (flight) {
      flight.keep ||= keep;
      if (urgent && !flight.urgent) {
        flight.urgent = true;
        flight.ticket?.promote();
      }
    } else {
      flight = this.#start(ref, keep, urgent);
    }
    return await waitForFlight(flight, opts.signal, (f) => {
      // Forgotten, so a later read starts afresh instead of joining a cancelled load.
      if (this.#flights.get(f.id) === f) this.#flights.delete(f.id);
    });
  }

  /**
   * A reader now waits for chunk `id`, which a background read is already
   * loading: move its fetch ahead of background work and keep the chunk once
   * fetched. Does nothing when no load of `id` is under way.
   */
  prioritize(id: string): void {
    const flight = this.#flights.get(id);
    if (!flight) return;
    flight.keep = true;
    if (!flight.urgent) {
      flight.urgent = true;
      flight.ticket?.promote();
    }
  }

  /** Keep the chunks `ids` (cached now or later) from eviction until the pin is released. */
  pin(ids: Iterable<string>): CachePin {
    const held = [...new Set(ids)];
    for (const id of held) this.#pins.set(id, (this.#pins.get(id) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const id of held) {
        const n = this.#pins.get(id)! - 1;
        if (n === 0) this.#pins.delete(id);
        else this.#pins.set(id, n);
      }
      if (!this.#closed) this.#track(this.#evict());
    };
    return { release, [Symbol.dispose]: release };
  }

  /**
   * Keep `data` as chunk `id` without a fetch: content this machine already
   * has (a file just written and committed), so it stays local after the
   * writer's own copy is gone. The bytes are checked against the id first.
   * Resolves with whether the cache holds the chunk now: false when the bytes
   * do not match the id (the source changed since the id was taken), the
   * chunk is larger than the quota or could not be written.
   */
  async put(id: string, data: Uint8Array): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#disk.has(id)) {
      this.#disk.use(id);
      return true;
    }
    if (this.#repo.codec.chunkId(data) !== id) return false;
    const stored = this.#persist(id, data);
    this.#track(stored);
    await stored;
    return this.#disk.has(id);
  }

  /**
   * Remove the chunks `ids` from memory and disk now (a file turned back into
   * a stub frees its space at once). Pinned chunks and chunks not cached are
   * left alone; a load under way still delivers to its readers. Resolves with
   * the bytes freed on disk.
   */
  async drop(ids: Iterable<string>): Promise<number> {
    let freed = 0;
    for (const id of new Set(ids)) {
      if (this.#pins.has(id)) continue;
      // A load under way is not kept, and a write of it to disk finishes before the removal.
      const flight = this.#flights.get(id);
      if (flight && !flight.settled) flight.keep = false;
      await this.#writing.get(id);
      if (!this.has(id)) continue;
      freed += this.#disk.sizeOf(id) ?? 0;
      const onDisk = this.#disk.delete(id);
      this.#memory.delete(id);
      if (onDisk) await removeQuietly(chunkPath(this.dir, id));
      this.#count("drop");
      this.#removed(id);
    }
    return freed;
  }

  /**
   * Call `watcher` with the id of every chunk that leaves the cache (evicted,
   * dropped, or found corrupt or missing on disk), so whoever shows files as
   * local can tell when one no longer is. Returns a function that stops it.
   */
  watchRemovals(watcher: (id: string) => void): () => void {
    this.#removalWatchers.add(watcher);
    return () => this.#removalWatchers.delete(watcher);
  }

  /** A snapshot of the counters. */
  stats(): ChunkCacheStats {
    let pinnedBytes = 0;
    for (const id of this.#pins.keys()) pinnedBytes += this.#disk.sizeOf(id) ?? 0;
    const queued = this.#gate.queued;
    return {
      ...this.#counts,
      bytes: this.#disk.bytes,
      entries: this.#disk.size,
      maxBytes: this.maxBytes,
      pinnedBytes,
      fetching: this.#gate.active,
      queued: queued.urgent + queued.background,
    };
  }

  /**
   * Resolves once no load, cache file write or eviction is under way (a
   * fetched chunk is written to disk after its readers have it).
   */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled([...this.#tails]);
  }

  /**
   * Stop: abort the fetches in flight (their readers get the abort), finish
   * the cache writes under way and record the LRU order for the next open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of this.#flights.values()) f.controller.abort(new TcfsError("chunk cache closed"));
    await this.idle();
    await writeIndex(this.dir, this.#disk.keys());
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start(ref: ChunkRef, keep: boolean, urgent: boolean): Flight {
    const flight: Flight = {
      id: ref.id,
      promise: Promise.resolve(new Uint8Array()),
      controller: new AbortController(),
      waiters: 0,
      settled: false,
      keep,
      urgent,
    };
    const loading = this.#load(ref, flight);
    flight.promise = loading.then((l) => l.data);
    flight.promise.catch(() => {}); // every reader may have gone; the failure is theirs to see
    // The flight stays findable until its chunk is on disk, so a read meanwhile never refetches.
    const tail = loading
      .then(async ({ data, fetched }) => {
        flight.settled = true;
        if (fetched && flight.keep && !this.#closed) await this.#persist(ref.id, data);
      }, () => {
        flight.settled = true;
      })
      .finally(() => {
        if (this.#flights.get(ref.id) === flight) this.#flights.delete(ref.id);
      });
    this.#track(tail);
    this.#flights.set(ref.id, flight);
    return flight;
  }

  async #load(ref: ChunkRef, flight: Flight): Promise<{ data: Uint8Array; fetched: boolean }> {
    if (this.#disk.has(ref.id)) {
      const data = await this.#readDisk(ref);
      if (data) {
        this.#disk.use(ref.id);
        if (flight.keep) this.#remember(ref.id, data);
        this.#count("hit");
        return { data, fetched: false };
      }
    }
    const signal = flight.controller.signal;
    const ticket = this.#gate.enter(flight.urgent ? "urgent" : "background", signal);
    flight.ticket = ticket;
    let data: Uint8Array;
    try {
      await ticket.granted;
      this.#count("miss");
      data = await this.#repo.readChunk(ref, signal);
    } finally {
      ticket.release();
    }
    if (flight.keep) this.#remember(ref.id, data);
    return { data, fetched: true };
  }

  /**
   * The verified content of a cache file, or null (and the file dropped) if it
   * is not right. The hash is checked once per file: a file whose stamp is
   * the one written or verified before by this process is served unhashed,
   * so a hydrated file reads at disk speed, while a file changed on disk
   * since (rewritten, swapped, truncated) is hashed again.
   */
  async #readDisk(ref: ChunkRef): Promise<Uint8Array | null> {
    let read: Awaited<ReturnType<typeof readStampedChunk>>;
    try {
      read = await readStampedChunk(this.dir, ref.id);
    } catch {
      read = null;
    }
    if (!read) {
      // Gone (evicted meanwhile) or unreadable: either way, fetch it again.
      if (this.#disk.delete(ref.id)) this.#removed(ref.id);
      return null;
    }
    const known = this.#disk.use(ref.id);
    const right = read.data.length === ref.size &&
      ((known != null && sameStamp(known, read.stamp)) ||
        this.#repo.codec.chunkId(read.data) === ref.id);
    if (right) {
      if (this.#disk.has(ref.id)) this.#disk.set(ref.id, read.stamp, ref.size);
      return read.data;
    }
    this.#disk.delete(ref.id);
    this.#count("corrupt");
    await removeQuietly(chunkPath(this.dir, ref.id));
    this.#removed(ref.id);
    return null;
  }

  #persist(id: string, data: Uint8Array): Promise<void> {
    const writing = this.#write(id, data).finally(() => {
      if (this.#writing.get(id) === writing) this.#writing.delete(id);
    });
    this.#writing.set(id, writing);
    return writing;
  }

  async #write(id: string, data: Uint8Array): Promise<void> {
    if (data.length > this.maxBytes) return;
    let stamp: FileStamp;
    try {
      stamp = await writeStampedChunk(this.dir, id, data);
    } catch {
      // A cache that cannot write (disk full, permissions) still serves reads from the repository.
      this.#counts.writeErrors++;
      return;
    }
    this.#disk.set(id, stamp, data.length);
    this.#count("store");
    await this.#evict();
  }

  /**
   * Evict least recently used, unpinned chunks until the files fit the quota.
   * An evicted chunk leaves the memory tier too: it is no longer local.
   */
  async #evict(): Promise<void> {
    for (const id of this.#disk.trim(this.maxBytes, (key) => this.#pins.has(key))) {
      this.#memory.delete(id);
      await removeQuietly(chunkPath(this.dir, id));
      this.#count("evict");
      this.#removed(id);
    }
  }

  /** Put `data` in the memory tier as its most recent entry, trimming the oldest. */
  #remember(id: string, data: Uint8Array): void {
    if (data.length > this.#memoryMax) return;
    this.#memory.set(id, data, data.length);
    for (const gone of this.#memory.trim(this.#memoryMax)) {
      if (!this.#disk.has(gone)) this.#removed(gone);
    }
  }

  /** Tell the removal watchers that chunk `id` is no longer cached (if it is not). */
  #removed(id: string): void {
    if (this.has(id)) return;
    for (const watcher of this.#removalWatchers) {
      try {
        watcher(id);
      } catch { /* a watcher's failure must not stop an eviction */ }
    }
  }

  #count(kind: CacheEventKind): void {
    if (kind !== "store") this.#counts[COUNTER_OF[kind]]++;
    this.#onEvent?.(kind, this.stats());
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch(() => {}).finally(() => this.#tails.delete(tracked));
    this.#tails.add(tracked);
  }
}
