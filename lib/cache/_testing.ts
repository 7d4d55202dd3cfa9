/**
 * Large test files that cost little to make: content computable at any
 * offset, so a 1 GiB file is stored without holding it and any range of it
 * can be checked without reading the rest.
 *
 * The content is an 8 MiB run of pseudo-random bytes (a xorshift stream from
 * the seed) repeated, with the position written over the first 8 bytes of
 * every 64 KiB. FastCDC (chunks of at least 1 MiB) cuts at similar places
 * in every repetition, but every chunk holds a different run of positions,
 * so no two chunks are equal and deduplication cannot make a read look
 * cheaper than it is.
 *
 * @module
 */

import { join } from "node:path";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import { chunkStream } from "../chunking/mod.ts";
import { toHex } from "../hash/mod.ts";
import { type ChunkRef, ChunkWriter, type Manifest, type Repository } from "../repo/mod.ts";
import { CountingStore, FileStore } from "../storage/mod.ts";

/** Period of the random content. */
const PERIOD = 8 * 1024 * 1024;
/** Distance between position stamps. */
const STAMP = 64 * 1024;
/** Bytes per piece handed to the chunker. */
const PIECE = 1024 * 1024;

const blocks = new Map<number, Uint8Array>();

function baseBlock(seed: number): Uint8Array {
  let block = blocks.get(seed);
  if (block) return block;
  block = new Uint8Array(PERIOD);
  const words = new Uint32Array(block.buffer);
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  blocks.set(seed, block);
  return block;
}

/** Bytes `[offset, offset + length)` of the synthetic file of `seed`. */
export function syntheticBytes(seed: number, offset: number, length: number): Uint8Array {
  const base = baseBlock(seed);
  const out = new Uint8Array(length);
  for (let done = 0; done < length;) {
    const from = (offset + done) % PERIOD;
    const n = Math.min(PERIOD - from, length - done);
    out.set(base.subarray(from, from + n), done);
    done += n;
  }
  // Each stamp: the stamp's number, little-endian, over the 8 bytes at its position.
  const end = offset + length;
  for (let s = Math.floor(offset / STAMP); s * STAMP < end; s++) {
    for (let i = 0; i < 8; i++) {
      const at = s * STAMP + i;
      if (at >= offset && at < end) out[at - offset] = Math.floor(s / 2 ** (8 * i)) & 0xff;
    }
  }
  return out;
}

/** The synthetic file of `seed`, `size` bytes, in pieces for the chunker. */
async function* pieces(seed: number, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < size; at += PIECE) {
    yield syntheticBytes(seed, at, Math.min(PIECE, size - at));
  }
}

/**
 * Store the synthetic file of `seed` with `size` bytes in `repo` (chunks and
 * packs only, no commit record) and return its manifest.
 */
export async function storeSynthetic(
  repo: Repository,
  size: number,
  seed: number,
): Promise<Manifest> {
  const writer = new ChunkWriter(repo.store, repo.codec, {
    known: new Map(),
    concurrency: 8,
    packThreshold: repo.config.packThreshold,
    packTarget: repo.config.packTarget,
  });
  const hasher = repo.codec.fileHasher();
  const refs: Promise<ChunkRef>[] = [];
  try {
    let offset = 0;
    for await (const chunk of chunkStream(pieces(seed, size), repo.config.chunker)) {
      hasher.update(chunk);
      const length = chunk.length;
      refs.push((await writer.enqueue(chunk, offset, { transfer: true })).ref);
      offset += length;
    }
    const chunks = await Promise.all(refs);
    await writer.flush();
    const oid = repo.codec.oidFromChunks ? repo.codec.chunkListId(chunks) : toHex(hasher.digest());
    return { v: 1, size, oid, chunks };
  } finally {
    await writer.close();
  }
}

/** An encrypted file:// repository holding one synthetic file, in a temp directory. */
export interface SyntheticRepo extends AsyncDisposable {
  /** The repository; its store is `store`. */
  repo: Repository;
  /** Counts the requests (reset after the file was stored). */
  store: CountingStore;
  /** The synthetic file's manifest. */
  manifest: Manifest;
  /** The temp directory (repository in `repo/`; put caches beside it). */
  tmp: string;
}

/** Make a {@linkcode SyntheticRepo} with a file of `size` bytes from `seed`. */
export async function syntheticRepo(size: number, seed: number): Promise<SyntheticRepo> {
  const tmp = await Deno.makeTempDir({ prefix: "tcfs-cache-" });
  const store = new CountingStore(await FileStore.open(join(tmp, "repo")));
  const { repo } = await createTestRepo(store);
  const manifest = await storeSynthetic(repo, size, seed);
  store.reset();
  return {
    repo,
    store,
    manifest,
    tmp,
    [Symbol.asyncDispose]: async () => {
      await store.close();
      await Deno.remove(tmp, { recursive: true });
    },
  };
}
