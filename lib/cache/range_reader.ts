/**
 * Reading byte ranges of one file version straight from its chunks, through
 * the chunk cache, without a local copy of the file: a read of
 * `[offset, offset + length)` fetches only the chunks that cover it (binary
 * search on the manifest's offsets). Reads that continue where the previous
 * one ended also fetch the next few chunks in the background (read-ahead);
 * a random read never does, so a read at offset 900 MiB of a 1 GiB file
 * costs one or two chunk fetches.
 *
 * @module
 */

import { chunkIndexAt, inlineBytes, type Manifest } from "../repo/mod.ts";
import type { ChunkCache } from "./chunk_cache.ts";
import { ChunkReadError, isAbort } from "./errors.ts";

/** Default number of chunks read ahead of a sequential reader. */
export const DEFAULT_READ_AHEAD = 4;

/** Options of {@linkcode RangeReader}. */
export interface RangeReaderOptions {
  /** The file's path, for error messages. */
  path: string;
  /** Chunks fetched ahead of a sequential reader (default {@linkcode DEFAULT_READ_AHEAD}; 0: none). */
  readAhead?: number;
}

/** Serves byte ranges of one file version from its chunks; see the module documentation. */
export class RangeReader {
  /** The file version's manifest. */
  readonly manifest: Manifest;
  /** The file's path, as given. */
  readonly path: string;
  readonly #cache: ChunkCache;
  readonly #readAhead: number;
  readonly #stop = new AbortController();
  #inline?: Uint8Array;
  #lastEnd = -1;

  /** A reader of `manifest`'s content through `cache`. */
  constructor(cache: ChunkCache, manifest: Manifest, opts: RangeReaderOptions) {
    this.#cache = cache;
    this.manifest = manifest;
    this.path = opts.path;
    this.#readAhead = opts.readAhead ?? DEFAULT_READ_AHEAD;
  }

  /** File size in bytes. */
  get size(): number {
    return this.manifest.size;
  }

  /**
   * Bytes `[offset, offset + length)` of the file, fewer at its end (none at
   * or past it). The result may be a view of cached memory: do not modify it.
   * A chunk that cannot be read is a {@linkcode ChunkReadError}; an abort of
   * `signal` rejects at once with its reason (the fetch goes on for other
   * readers of the chunk, or is cancelled if there are none).
   */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0
    ) {
      throw new RangeError(`bad range: offset ${offset}, length ${length}`);
    }
    const m = this.manifest;
    const end = Math.min(offset + length, m.size);
    if (offset >= end) return new Uint8Array(0);
    if (m.inline !== undefined) {
      this.#inline ??= inlineBytes(m);
      return this.#inline.subarray(offset, end);
    }
    const first = chunkIndexAt(m, offset);
    const last = chunkIndexAt(m, end - 1);
    const sequential = offset === this.#lastEnd;
    this.#lastEnd = end;
    const reading = Promise.all(
      m.chunks.slice(first, last + 1).map((ref) =>
        this.#cache.read(ref, { signal }).catch((err) => {
          throw isAbort(err, signal) ? err : new ChunkReadError(this.path, ref.id, err);
        })
      ),
    );
    // Started with this read, not after it: the next chunks load while this one does.
    if (sequential) this.#prefetch(last + 1);
    const pieces = await reading;
    if (pieces.length === 1) {
      const at = m.chunks[first].offset;
      return pieces[0].subarray(offset - at, end - at);
    }
    const out = new Uint8Array(end - offset);
    for (let i = 0; i < pieces.length; i++) {
      const ref = m.chunks[first + i];
      const from = Math.max(offset, ref.offset);
      const to = Math.min(end, ref.offset + ref.size);
      out.set(pieces[i].subarray(from - ref.offset, to - ref.offset), from - offset);
    }
    return out;
  }

  /** Cancel the read-ahead under way (reads already waiting are not affected). */
  close(): void {
    this.#stop.abort();
  }

  /**
   * Load up to `readAhead` chunks from index `from` in the background: fetched
   * when not cached, read from disk into the memory tier when cached there
   * (so a hydrated file's next chunk is in memory when the reader gets to it).
   */
  #prefetch(from: number): void {
    const chunks = this.manifest.chunks;
    for (let i = from; i < Math.min(chunks.length, from + this.#readAhead); i++) {
      // A failed read-ahead is not an error: the read that needs the chunk will try again.
      this.#cache.read(chunks[i], { priority: "background", signal: this.#stop.signal })
        .catch(() => {});
    }
  }
}
