/**
 * Encoding of everything a repository stores: chunk blobs (compressed when
 * that helps, then sealed with the data key) and metadata objects (JSON,
 * compressed, sealed with the meta key). Decoding verifies as it goes: a
 * chunk whose plaintext does not hash to its id is an error naming the chunk.
 *
 * @module
 */

import { zstdCompress, zstdDecompress } from "../compress/mod.ts";
import { open, type Opened, seal } from "../crypto/mod.ts";
import type { RepoKeys } from "../crypto/mod.ts";
import { IntegrityError, KeyError } from "../errors.ts";
import { blake3, type Blake3Hasher, createBlake3, fromHex, toHex } from "../hash/mod.ts";
import { EncodePool, IN_THREAD_BELOW } from "./encode_pool.ts";
import { chunkContext, objectContext } from "./layout.ts";
import type { RepoConfig } from "./repo_config.ts";

/** Longest metadata object accepted after decompression (guards against bombs). */
export const MAX_META_BYTES = 512 * 1024 * 1024;

/** Decode workers stop after this long without work. */
const DECODER_IDLE_MS = 10_000;

/**
 * What hashing and encoding a chunk depends on. Every field survives
 * `postMessage` (Deno clones CryptoKeys), so a worker can encode chunks
 * byte-for-byte like the codec that made it.
 */
export interface ChunkCoding {
  /** Key of the keyed BLAKE3 chunk ids, or `null` for plain BLAKE3. */
  idKey: Uint8Array | null;
  /** AES-256-GCM key sealing chunk bodies, or `null` to store them unencrypted. */
  dataKey: CryptoKey | null;
  /** zstd level. */
  level: number;
}

/** The id of a chunk under `coding`: BLAKE3 of its plaintext, keyed when there is an id key. */
export function chunkIdOf(coding: ChunkCoding, plain: Uint8Array): string {
  return toHex(blake3(plain, coding.idKey ?? undefined));
}

/** Domain prefix of the chunk-list whole-file id (`oid: "chunks-v1"`). */
const CHUNK_LIST_PREFIX = new TextEncoder().encode("tcfs:oid:chunks-v1");
/** Bytes per chunk in that encoding: the 32-byte id, then the size as a 64-bit little-endian. */
const CHUNK_LIST_ENTRY = 40;

/**
 * The `chunks-v1` whole-file id of a file stored as `chunks` (in file order):
 * BLAKE3 (keyed with `idKey` when there is one) of the prefix
 * `tcfs:oid:chunks-v1` followed by each chunk's id (32 bytes) and size (u64
 * little-endian). Each chunk is verified against its id when read, so this
 * binds the content as a hash of it would.
 */
function chunkListIdOf(
  idKey: Uint8Array | null,
  chunks: readonly { id: string; size: number }[],
): string {
  const out = new Uint8Array(CHUNK_LIST_PREFIX.length + CHUNK_LIST_ENTRY * chunks.length);
  out.set(CHUNK_LIST_PREFIX);
  const view = new DataView(out.buffer);
  let at = CHUNK_LIST_PREFIX.length;
  for (const c of chunks) {
    out.set(fromHex(c.id), at);
    view.setUint32(at + 32, c.size % 2 ** 32, true);
    view.setUint32(at + 36, Math.floor(c.size / 2 ** 32), true);
    at += CHUNK_LIST_ENTRY;
  }
  return toHex(blake3(out, idKey ?? undefined));
}

/** The stored form of chunk `id` under `coding`: compressed if that makes it smaller, then sealed. */
export async function encodeChunkWith(
  coding: ChunkCoding,
  id: string,
  plain: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const packed = zstdCompress(plain, coding.level);
  const compressed = packed.length < plain.length;
  return await seal(coding.dataKey, compressed ? packed : plain, {
    compressed,
    aad: chunkContext(id),
    keyKind: "data",
  });
}

/**
 * The plaintext of chunk `id` from its stored form `body` under `coding`,
 * verified: the envelope opens under the chunk's context, the plaintext has
 * `size` bytes and hashes to `id`. Fails with an IntegrityError naming the
 * chunk.
 */
export async function decodeChunkWith(
  coding: ChunkCoding,
  id: string,
  body: Uint8Array,
  size: number,
): Promise<Uint8Array> {
  let opened: Opened;
  try {
    opened = await open(coding.dataKey, body, chunkContext(id));
  } catch (err) {
    throw new IntegrityError(`chunk ${id}: ${(err as Error).message}`, { cause: err });
  }
  let plain: Uint8Array;
  try {
    plain = opened.compressed ? zstdDecompress(opened.payload, size) : opened.payload;
  } catch (err) {
    throw new IntegrityError(`chunk ${id}: does not decompress: ${(err as Error).message}`);
  }
  if (plain.length !== size) {
    throw new IntegrityError(`chunk ${id}: ${plain.length} bytes where ${size} were expected`);
  }
  if (chunkIdOf(coding, plain) !== id) {
    throw new IntegrityError(`chunk ${id}: content does not match its hash (corrupted)`);
  }
  return plain;
}

/** Worker threads for a pool: one per core, none on a single core. */
export function defaultWorkers(): number {
  const cores = navigator.hardwareConcurrency ?? 1;
  return cores > 1 ? cores : 0;
}

/** Encodes and decodes a repository's objects with its keys and parameters. */
export class Codec {
  readonly #keys: RepoKeys | null;
  readonly #level: number;
  readonly #coding: ChunkCoding;
  readonly #oidFromChunks: boolean;
  /** Workers decoding chunks for readers (started on first use, stopped when idle). */
  #decoder: EncodePool | null = null;
  #decoding = 0;
  #decoderIdle: ReturnType<typeof setTimeout> | undefined;

  /** `keys` is `null` for an unencrypted repository. */
  constructor(config: RepoConfig, keys: RepoKeys | null) {
    if (config.encryption !== "none" && !keys) {
      throw new KeyError("the repository is encrypted but no key was given");
    }
    this.#keys = config.encryption === "none" ? null : keys;
    this.#level = config.compression.level;
    this.#coding = {
      idKey: this.#keys?.idKey ?? null,
      dataKey: this.#keys?.dataKey ?? null,
      level: this.#level,
    };
    this.#oidFromChunks = config.oid === "chunks-v1";
  }

  /** Whether object bodies are encrypted. */
  get encrypted(): boolean {
    return this.#keys !== null;
  }

  /** The id of a chunk: BLAKE3 of its plaintext, keyed when the repository is encrypted. */
  chunkId(plain: Uint8Array): string {
    return chunkIdOf(this.#coding, plain);
  }

  /**
   * Whether the whole-file id of a chunked file is {@link chunkListId} of its
   * chunks (repository `oid: "chunks-v1"`) rather than a hash of its content.
   * Content inline in a manifest is always hashed with {@link fileHasher}.
   */
  get oidFromChunks(): boolean {
    return this.#oidFromChunks;
  }

  /**
   * A streaming hasher of content for whole-file ids (keyed like chunk ids):
   * for every file when ids hash content, for inline content only when
   * {@link oidFromChunks}.
   */
  fileHasher(): Blake3Hasher {
    return createBlake3(this.#keys?.idKey);
  }

  /** The whole-file id of a file stored as `chunks` when {@link oidFromChunks}. */
  chunkListId(chunks: readonly { id: string; size: number }[]): string {
    return chunkListIdOf(this.#keys?.idKey ?? null, chunks);
  }

  /** The id of a metadata value: the hash of its canonical encoding. */
  metaId(encoded: Uint8Array): string {
    return toHex(blake3(encoded, this.#keys?.idKey));
  }

  /** The stored form of a chunk: compressed if that makes it smaller, then sealed. */
  async encodeChunk(id: string, plain: Uint8Array): Promise<Uint8Array> {
    return await encodeChunkWith(this.#coding, id, plain);
  }

  /**
   * A pool of up to `workers` threads that hash and encode chunks exactly
   * like {@link chunkId} and {@link encodeChunk} (`0`: in this thread). The
   * keys go to those workers and nowhere else. Close the pool when done:
   * live workers keep the process running.
   */
  encodePool(workers: number): EncodePool {
    return new EncodePool(this.#coding, workers);
  }

  /**
   * The plaintext of a stored chunk, verified: it must open under its id's
   * context, have the expected size and hash to its id. Chunks of
   * {@link IN_THREAD_BELOW} bytes or more are decoded on a pool of worker
   * threads shared by every caller of this codec, so several chunks decode
   * at once. `body` is copied to the worker unless `transfer` allows moving
   * its memory (the caller's array is then empty): pass it only for a body
   * nothing else holds.
   */
  async decodeChunk(
    id: string,
    body: Uint8Array,
    size: number,
    transfer = false,
  ): Promise<Uint8Array> {
    if (size < IN_THREAD_BELOW) return await decodeChunkWith(this.#coding, id, body, size);
    clearTimeout(this.#decoderIdle);
    const pool = this.#decoder ??= new EncodePool(this.#coding, defaultWorkers());
    this.#decoding++;
    try {
      return await pool.decode(id, body, size, transfer);
    } finally {
      if (--this.#decoding === 0) this.#closeDecoderWhenIdle(pool);
    }
  }

  /**
   * Start the decode workers now, so that the first chunks of a read do not
   * wait for them; they stop again if no chunk comes.
   */
  warmDecoder(): void {
    const pool = this.#decoder ??= new EncodePool(this.#coding, defaultWorkers());
    pool.start().catch(() => {}); // a pool closed meanwhile: the next decode makes a new one
    if (this.#decoding === 0) {
      clearTimeout(this.#decoderIdle);
      this.#closeDecoderWhenIdle(pool);
    }
  }

  /** Stop the decode workers once nothing asked for them for a while (a daemon lives on). */
  #closeDecoderWhenIdle(pool: EncodePool): void {
    const timer = setTimeout(() => {
      if (this.#decoder !== pool || this.#decoding > 0) return;
      this.#decoder = null;
      void pool.close();
    }, DECODER_IDLE_MS);
    Deno.unrefTimer(timer);
    this.#decoderIdle = timer;
  }

  /** The stored form of a metadata value at `key`: JSON, zstd, sealed with the meta key. */
  async encodeMeta(key: string, value: unknown): Promise<Uint8Array> {
    const json = new TextEncoder().encode(JSON.stringify(value));
    return await seal(this.#keys?.metaKey ?? null, zstdCompress(json, this.#level), {
      compressed: true,
      aad: objectContext(key),
    });
  }

  /** Decode a metadata object stored at `key`. */
  async decodeMeta<T>(key: string, body: Uint8Array): Promise<T> {
    let opened: Opened;
    try {
      opened = await open(this.#keys?.metaKey ?? null, body, objectContext(key));
    } catch (err) {
      throw new IntegrityError(`${key}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const json = opened.compressed
        ? zstdDecompress(opened.payload, MAX_META_BYTES)
        : opened.payload;
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json)) as T;
    } catch (err) {
      throw new IntegrityError(`${key}: malformed metadata: ${(err as Error).message}`);
    }
  }
}
