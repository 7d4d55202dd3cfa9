/**
 * Reading many small chunks without one request each: when several chunks
 * that a pull needs live in the same pack, the pack's covering byte range is
 * fetched once and the blobs are cut out of it. A pack is dropped as soon as
 * every chunk planned from it has been read, so memory holds only the packs
 * in use (the pull orders files by pack to keep that small). Chunks are
 * decoded and verified on the codec's worker threads.
 *
 * @module
 */

import { type ChunkRef, IN_THREAD_BELOW, type Repository } from "../repo/mod.ts";

interface PlannedPack {
  start: number;
  end: number;
  remaining: number;
  body?: Promise<Uint8Array>;
}

/** Reads chunks for a pull, batching reads of shared packs. */
export class ChunkSource {
  readonly #repo: Repository;
  readonly #packs = new Map<string, PlannedPack>();

  /** A source reading from `repo`. */
  constructor(repo: Repository) {
    this.#repo = repo;
  }

  /** Announce the chunks that will be read, so that shared packs are fetched once. */
  plan(refs: Iterable<ChunkRef>): void {
    const counts = new Map<string, PlannedPack>();
    let large = false;
    for (const r of refs) {
      large ||= r.size >= IN_THREAD_BELOW;
      if (!r.pack) continue;
      const p = counts.get(r.pack.id);
      const end = r.pack.offset + r.pack.length;
      if (p) {
        p.start = Math.min(p.start, r.pack.offset);
        p.end = Math.max(p.end, end);
        p.remaining++;
      } else counts.set(r.pack.id, { start: r.pack.offset, end, remaining: 1 });
    }
    for (const [id, p] of counts) if (p.remaining >= 2) this.#packs.set(id, p);
    // Chunks this large are decoded on worker threads: start them while the first reads run.
    if (large) this.#repo.codec.warmDecoder();
  }

  /** Read and verify one chunk. */
  async read(ref: ChunkRef): Promise<Uint8Array> {
    const planned = ref.pack ? this.#packs.get(ref.pack.id) : undefined;
    if (!ref.pack || !planned) return await this.#repo.readChunk(ref);
    planned.body ??= this.#repo.store.get(`packs/${ref.pack.id.slice(0, 2)}/${ref.pack.id}`, {
      offset: planned.start,
      length: planned.end - planned.start,
    });
    let range: Uint8Array;
    try {
      const body = await planned.body;
      const at = ref.pack.offset - planned.start;
      range = body.subarray(at, at + ref.pack.length);
    } finally {
      if (--planned.remaining === 0) this.#packs.delete(ref.pack.id);
    }
    return await this.#repo.codec.decodeChunk(ref.id, range, ref.size);
  }
}
