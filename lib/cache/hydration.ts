/**
 * Hydration of one file version into a local sparse file, chunk by chunk,
 * while reads of the parts already there proceed.
 *
 * Policy (explicit, because it decides how many requests a read costs):
 * - {@linkcode Hydration.waitFor} fetches ONLY the chunks covering the range
 *   asked for, ahead of any background work, and keeps them in the chunk
 *   cache (a re-open of the file needs no fetch). It never starts a full
 *   download: a 4 KiB read at offset 900 MiB of a 1 GiB file costs one or
 *   two chunk fetches.
 * - {@linkcode Hydration.fill} downloads the whole file in order, a bounded
 *   window of chunks at a time, at background priority and without keeping
 *   the chunks in the cache (the file itself holds them). It runs only when
 *   the caller asks, e.g. when a stub is opened for reading and the file
 *   system wants it local.
 * - The whole file is checked against the manifest's `oid` as the chunks
 *   complete (hashed in order; chunks that arrived out of order are read
 *   back from the file; where the repository makes ids from chunk lists, the
 *   list is hashed once the last chunk is in), and
 *   {@linkcode Hydration.complete} turns true only once that check passed.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import type { Blake3Hasher } from "../hash/mod.ts";
import { toHex } from "../hash/mod.ts";
import { chunkIndexAt, inlineBytes, type Manifest } from "../repo/mod.ts";
import type { ChunkCache } from "./chunk_cache.ts";
import { abortable, ChunkReadError, isAbort } from "./errors.ts";

/** Default number of chunks {@linkcode Hydration.fill} fetches at once. */
export const DEFAULT_FILL_WINDOW = 4;

/** Options of {@linkcode Hydration.open}. */
export interface HydrationOptions {
  /** The file's path as users see it, for error messages. */
  path: string;
  /** The local file to fill; it is created (or emptied) and sized at open, mode 0600. */
  file: string;
  /** Chunks the full fill fetches at once (default {@linkcode DEFAULT_FILL_WINDOW}). */
  window?: number;
  /** Called after each chunk is written, with the bytes present so far. */
  onProgress?: (bytesPresent: number, size: number) => void;
}

/** One file version being made local; see the module documentation. */
export class Hydration {
  /** The file version's manifest. */
  readonly manifest: Manifest;
  /** The file's path, as given. */
  readonly path: string;
  /** The local file being filled. */
  readonly file: string;
  readonly #cache: ChunkCache;
  readonly #fsFile: Deno.FsFile;
  readonly #window: number;
  readonly #onProgress?: HydrationOptions["onProgress"];
  readonly #present: Uint8Array;
  readonly #pending = new Map<number, Promise<void>>();
  readonly #stop = new AbortController();
  readonly #hasher: Blake3Hasher;
  #hashed = 0;
  #bytesPresent = 0;
  #complete = false;
  #fileLock: Promise<unknown> = Promise.resolve();
  #filling?: Promise<void>;
  #closed = false;

  private constructor(
    cache: ChunkCache,
    manifest: Manifest,
    file: Deno.FsFile,
    o: HydrationOptions,
  ) {
    this.#cache = cache;
    this.manifest = manifest;
    this.path = o.path;
    this.file = o.file;
    this.#fsFile = file;
    this.#window = o.window ?? DEFAULT_FILL_WINDOW;
    this.#onProgress = o.onProgress;
    this.#present = new Uint8Array(manifest.chunks.length);
    this.#hasher = cache.repository.codec.fileHasher();
  }

  /**
   * Start hydrating `manifest` into `opts.file`: the file is created with the
   * full size and no content (sparse); nothing is fetched yet. Inline and
   * empty files are written (and verified) at once.
   */
  static async open(
    cache: ChunkCache,
    manifest: Manifest,
    opts: HydrationOptions,
  ): Promise<Hydration> {
    const file = await Deno.open(opts.file, {
      read: true,
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    const h = new Hydration(cache, manifest, file, opts);
    try {
      await file.truncate(manifest.size);
      if (manifest.inline !== undefined) {
        const bytes = inlineBytes(manifest);
        await h.#locked(() => writeAt(file, 0, bytes));
        h.#hasher.update(bytes);
        h.#bytesPresent = bytes.length;
      }
      if (manifest.chunks.length === 0) h.#finish();
    } catch (err) {
      file.close();
      throw err;
    }
    return h;
  }

  /** File size in bytes. */
  get size(): number {
    return this.manifest.size;
  }

  /** Bytes of the file written so far. */
  get bytesPresent(): number {
    return this.#bytesPresent;
  }

  /** True once every byte is written and the whole file matched its `oid`. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Whether bytes `[offset, offset + length)` (clamped to the file) are in the file. */
  isAvailable(offset: number, length: number): boolean {
    const [first, last] = this.#span(offset, length);
    for (let i = first; i <= last; i++) if (!this.#present[i]) return false;
    return true;
  }

  /**
   * Resolve once bytes `[offset, offset + length)` are in the file, fetching
   * the chunks that cover them first (ahead of a running fill). A chunk that
   * fails is a {@linkcode ChunkReadError} naming it and the file (a later
   * call tries again); an abort of `signal` rejects with its reason, and the
   * chunk still arrives for the next reader.
   */
  async waitFor(offset: number, length: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const [first, last] = this.#span(offset, length);
    const waits: Promise<void>[] = [];
    for (let i = first; i <= last; i++) {
      if (!this.#present[i]) waits.push(this.#ensure(i, true));
    }
    if (waits.length > 0) await abortable(Promise.all(waits), signal);
  }

  /**
   * Bytes `[offset, offset + length)` of the file (fewer at its end), after
   * {@linkcode waitFor}: a convenience for callers that do not read the local
   * file themselves.
   */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    await this.waitFor(offset, end - offset, signal);
    return await this.#locked(() => readAt(this.#fsFile, offset, end - offset));
  }

  /**
   * Download the rest of the file in order, {@linkcode HydrationOptions.window}
   * chunks at a time; resolves once the file is complete and verified. Calls
   * while a fill runs share it; after a failure (a {@linkcode ChunkReadError},
   * or an IntegrityError if the assembled file does not match its `oid`) a new
   * call starts again from the first missing chunk.
   */
  fill(): Promise<void> {
    if (this.#complete) return Promise.resolve();
    this.#filling ??= this.#fillAll().finally(() => {
      this.#filling = undefined;
    });
    return this.#filling;
  }

  /**
   * Stop: cancel the fetches under way (waiters get the abort) and close the
   * local file, which stays where it is, as complete as it got.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort(new DOMException(`hydration of ${this.path} closed`, "AbortError"));
    await Promise.allSettled([...this.#pending.values(), this.#filling]);
    await this.#locked(() => Promise.resolve());
    this.#fsFile.close();
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #fillAll(): Promise<void> {
    const n = this.manifest.chunks.length;
    const running = new Set<Promise<void>>();
    let next = 0;
    for (;;) {
      while (running.size < this.#window && next < n) {
        const i = next++;
        if (this.#present[i]) continue;
        const p = this.#ensure(i, false);
        running.add(p);
        p.then(() => running.delete(p), () => {});
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
    if (!this.#complete) {
      throw new IntegrityError(`${this.path}: hydration ended with the file incomplete`);
    }
  }

  /** Fetch and write chunk `i` unless it is there or under way; urgent when a reader waits. */
  #ensure(i: number, urgent: boolean): Promise<void> {
    if (this.#present[i]) return Promise.resolve();
    const ref = this.manifest.chunks[i];
    const pending = this.#pending.get(i);
    if (pending) {
      if (urgent) this.#cache.prioritize(ref.id);
      return pending;
    }
    if (this.#closed) return Promise.reject(this.#stop.signal.reason);
    const signal = this.#stop.signal;
    const work = this.#cache
      .read(ref, { signal, priority: urgent ? "urgent" : "background", keep: urgent })
      .then((data) => this.#locked(() => this.#place(i, data)))
      .catch((err) => {
        throw isAbort(err, signal) || err instanceof IntegrityError && this.#present[i]
          ? err
          : new ChunkReadError(this.path, ref.id, err);
      })
      .finally(() => this.#pending.delete(i));
    work.catch(() => {}); // its waiters see the failure; the fill may have none
    this.#pending.set(i, work);
    return work;
  }

  /** Write chunk `i` (under the file lock), then hash every chunk now in order. */
  async #place(i: number, data: Uint8Array): Promise<void> {
    const ref = this.manifest.chunks[i];
    await writeAt(this.#fsFile, ref.offset, data);
    this.#present[i] = 1;
    this.#bytesPresent += data.length;
    const chunks = this.manifest.chunks;
    if (this.#cache.repository.codec.oidFromChunks) {
      // The id is made from the chunk list, and every chunk was verified against its id: nothing
      // to hash, the file is checked once every chunk is present.
      const missing = this.#present.indexOf(0);
      this.#hashed = missing < 0 ? chunks.length : missing;
    }
    while (this.#hashed < chunks.length && this.#present[this.#hashed]) {
      const h = chunks[this.#hashed];
      this.#hasher.update(
        this.#hashed === i ? data : await readAt(this.#fsFile, h.offset, h.size),
      );
      this.#hashed++;
    }
    if (this.#hashed === chunks.length) this.#finish();
    this.#onProgress?.(this.#bytesPresent, this.size);
  }

  #finish(): void {
    const codec = this.#cache.repository.codec;
    const oid = codec.oidFromChunks && this.manifest.inline === undefined
      ? codec.chunkListId(this.manifest.chunks)
      : toHex(this.#hasher.digest());
    if (oid !== this.manifest.oid) {
      throw new IntegrityError(`${this.path}: the assembled file does not match its hash`);
    }
    this.#complete = true;
  }

  /** The first and last chunk index covering a range, or an empty span (1, 0). */
  #span(offset: number, length: number): [number, number] {
    const end = Math.min(offset + length, this.size);
    if (offset >= end || this.manifest.chunks.length === 0) return [1, 0];
    return [chunkIndexAt(this.manifest, offset), chunkIndexAt(this.manifest, end - 1)];
  }

  /** Run `fn` alone on the file: a positioned read or write is a seek plus a read or write. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#fileLock.then(fn);
    this.#fileLock = run.catch(() => {});
    return run;
  }
}

async function writeAt(file: Deno.FsFile, offset: number, data: Uint8Array): Promise<void> {
  await file.seek(offset, Deno.SeekMode.Start);
  for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  for (let done = 0; done < length;) {
    const n = await file.read(out.subarray(done));
    if (n === null) throw new IntegrityError(`short read at ${offset + done} of a hydrating file`);
    done += n;
  }
  return out;
}
