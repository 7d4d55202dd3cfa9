/**
 * Uploading chunks: each new chunk is encoded and stored once. Chunks at or
 * above the pack threshold become objects of their own; smaller ones (small
 * files, file tails) are gathered into packs so that many small files cost
 * one request. Uploads run in parallel up to a limit, and {@link add} waits
 * when that many are in flight, so memory stays bounded by a few chunks and
 * packs whatever the size of the input.
 *
 * A chunk's location is known when `add` returns, but it is durable only
 * after {@link flush}: commit records that reference chunks must be written
 * after a flush.
 *
 * Chunk ids, compression and sealing run on a pool of worker threads (see
 * encode_pool.ts). {@link ChunkWriter.enqueue} lets a caller hand over the
 * next chunk while earlier ones are still being encoded; the writer accepts
 * at most two chunks per worker at once, so memory stays bounded however
 * many files feed it. Call {@link ChunkWriter.close} when done: it stops the
 * workers.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import { toHex } from "../hash/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { Codec } from "./codec.ts";
import type { EncodePool, HashedChunk } from "./encode_pool.ts";
import { chunkKey, packKey } from "./layout.ts";
import type { ChunkRef } from "./manifest.ts";

/** Where a stored chunk is: in its own object (`null`) or in a pack. */
export type ChunkLocation = ChunkRef["pack"] | null;

/** Counters of what a writer did. */
export interface WriterStats {
  /** Chunks already present (deduplicated). */
  dedupHits: number;
  /** New chunks stored. */
  chunksStored: number;
  /** Objects uploaded (chunk objects and packs). */
  objectsUploaded: number;
  /** Bytes uploaded (encoded). */
  bytesUploaded: number;
}

/** Called after objects become durable, so resumable state can record them. */
export type DurableListener = (chunks: [id: string, location: ChunkLocation][]) => void;

/** Options of {@link ChunkWriter}. */
export interface ChunkWriterOptions {
  /** Chunks known to be stored already, and where. */
  known: Map<string, ChunkLocation>;
  /** Most uploads in flight at once. */
  concurrency: number;
  /** Chunks shorter than this are packed. */
  packThreshold: number;
  /** A pack is uploaded once it reaches this size. */
  packTarget: number;
  /** Told about chunks once their objects are stored. */
  onDurable?: DurableListener;
  /**
   * Worker threads that hash and encode chunks (default: one per core, none
   * on a single core; 0: everything in the calling thread).
   */
  encodeWorkers?: number;
}

/** A chunk the writer has accepted; `ref` resolves once it is stored or found stored. */
export interface PendingRef {
  /** The chunk's reference within its file. */
  ref: Promise<ChunkRef>;
}

/** Options of {@link ChunkWriter.enqueue}. */
export interface EnqueueOptions {
  /**
   * Let the writer take the chunk's memory (move it to a worker thread)
   * instead of copying it: the array may be empty (detached) once
   * `enqueue` resolves.
   */
  transfer?: boolean;
}

interface OpenPack {
  id: string;
  parts: Uint8Array[];
  size: number;
  chunks: [string, NonNullable<ChunkLocation>][];
}

/** Stores chunks for one push; see the module documentation. */
export class ChunkWriter {
  readonly #store: ObjectStore;
  readonly #opts: ChunkWriterOptions;
  readonly #pool: EncodePool;
  readonly #gate: Gate;
  readonly #inFlight = new Set<Promise<void>>();
  /** Accepted chunks not yet stored or found stored. */
  readonly #accepted = new Set<Promise<unknown>>();
  /** Where chunks being encoded right now will be: a repeat of one of them is a dedup hit. */
  readonly #encoding = new Map<string, Promise<ChunkLocation>>();
  #pack: OpenPack | null = null;
  #error: unknown = null;
  #closed = false;
  /** What this writer did. */
  readonly stats: WriterStats = {
    dedupHits: 0,
    chunksStored: 0,
    objectsUploaded: 0,
    bytesUploaded: 0,
  };

  /** Make a writer storing into `store` with `codec`. */
  constructor(store: ObjectStore, codec: Codec, opts: ChunkWriterOptions) {
    this.#store = store;
    this.#opts = opts;
    const cores = navigator.hardwareConcurrency ?? 1;
    const workers = opts.encodeWorkers ?? (cores > 1 ? cores : 0);
    this.#pool = codec.encodePool(workers);
    // Two per worker: one being hashed or compressed while the other is sealed or sent.
    this.#gate = new Gate(2 * Math.max(1, workers));
  }

  /** Store a chunk unless it is known; returns its reference within the file. */
  async add(plain: Uint8Array, offset: number): Promise<ChunkRef> {
    return await (await this.enqueue(plain, offset)).ref;
  }

  /**
   * Start storing a chunk, as {@link add} does, but resolve as soon as the
   * writer has accepted it (waiting while it holds as many chunks as it
   * may), so the caller can prepare the next one meanwhile. References
   * resolve in any order; each carries its own `offset`. Unless
   * `opts.transfer` is set, `plain` must not change until `ref` settles.
   */
  async enqueue(plain: Uint8Array, offset: number, opts: EnqueueOptions = {}): Promise<PendingRef> {
    this.#throwIfUnusable();
    await this.#gate.acquire();
    let hashing: Promise<HashedChunk>;
    try {
      this.#throwIfUnusable();
      hashing = this.#pool.hash(plain, opts.transfer);
    } catch (err) {
      this.#gate.release();
      throw err;
    }
    const ref = this.#place(hashing, offset);
    this.#accepted.add(ref);
    // Callers may look at `ref` late (or never, after an earlier failure).
    ref.catch(() => {}).finally(() => this.#accepted.delete(ref));
    return { ref };
  }

  /** Decide, from its id, whether a hashed chunk must be stored, and store it if so. */
  async #place(hashing: Promise<HashedChunk>, offset: number): Promise<ChunkRef> {
    let gated = true;
    const ungate = () => {
      if (gated) this.#gate.release();
      gated = false;
    };
    try {
      const chunk = await hashing;
      const { id, size } = chunk;
      const known = this.#opts.known.get(id);
      const encoding = known === undefined ? this.#encoding.get(id) : undefined;
      if (known !== undefined || encoding !== undefined) {
        this.#pool.release(chunk);
        ungate();
        this.stats.dedupHits++;
        return refTo(id, offset, size, known !== undefined ? known : await encoding!);
      }
      const storing = this.#encodeAndStore(chunk);
      this.#encoding.set(id, storing);
      try {
        return refTo(id, offset, size, await storing);
      } finally {
        this.#encoding.delete(id);
      }
    } finally {
      ungate();
    }
  }

  /** Encode a new chunk and hand it to an upload (own object) or the open pack. */
  async #encodeAndStore(chunk: HashedChunk): Promise<ChunkLocation> {
    const { id } = chunk;
    const body = await this.#pool.encode(chunk);
    this.stats.chunksStored++;
    if (chunk.size >= this.#opts.packThreshold) {
      this.#opts.known.set(id, null);
      await this.#upload(chunkKey(id), body, [[id, null]]);
      return null;
    }
    const pack = this.#pack ??= { id: randomId(), parts: [], size: 0, chunks: [] };
    const location = { id: pack.id, offset: pack.size, length: body.length };
    pack.parts.push(body);
    pack.size += body.length;
    pack.chunks.push([id, location]);
    this.#opts.known.set(id, location);
    if (pack.size >= this.#opts.packTarget) await this.#closePack();
    return location;
  }

  /** Upload the open pack and wait for every upload; then all added chunks are durable. */
  async flush(): Promise<void> {
    while (this.#accepted.size > 0) await Promise.allSettled([...this.#accepted]);
    await this.#closePack();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#throwIfFailed();
  }

  /**
   * Stop the encoder workers and wait until nothing the writer started is
   * still running; chunks not yet stored fail. Does not flush: call
   * {@link flush} first to keep what was added. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close();
    while (this.#accepted.size > 0) await Promise.allSettled([...this.#accepted]);
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #closePack(): Promise<void> {
    const pack = this.#pack;
    if (!pack) return;
    this.#pack = null;
    const body = new Uint8Array(pack.size);
    let at = 0;
    for (const part of pack.parts) {
      body.set(part, at);
      at += part.length;
    }
    await this.#upload(packKey(pack.id), body, pack.chunks);
  }

  /** Start an upload, first waiting while the in-flight limit is reached. */
  async #upload(key: string, body: Uint8Array, chunks: [string, ChunkLocation][]): Promise<void> {
    while (this.#inFlight.size >= this.#opts.concurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
    const task: Promise<void> = this.#store.put(key, body).then(
      () => {
        this.stats.objectsUploaded++;
        this.stats.bytesUploaded += body.length;
        this.#opts.onDurable?.(chunks);
      },
      (err) => {
        // A failed upload leaves its chunks unknown so that a retry stores them again.
        for (const [id] of chunks) this.#opts.known.delete(id);
        this.#error ??= err;
      },
    ).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  #throwIfFailed(): void {
    if (this.#error !== null) throw this.#error;
  }

  #throwIfUnusable(): void {
    this.#throwIfFailed();
    if (this.#closed) throw new TcfsError("the chunk writer was closed");
  }
}

function refTo(id: string, offset: number, size: number, location: ChunkLocation): ChunkRef {
  return location ? { id, offset, size, pack: location } : { id, offset, size };
}

function randomId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** A counting semaphore whose waiters are served in arrival order. */
class Gate {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
