/**
 * Storing one local file's content: read it once as a stream, cut it into
 * chunks, hash it as a whole on the way (unless the repository derives file
 * ids from chunk lists), hand each chunk to the writer (which
 * deduplicates and uploads), and build its manifest. Used by push and sync.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { chunkStream } from "../chunking/mod.ts";
import { TcfsError } from "../errors.ts";
import { toHex } from "../hash/mod.ts";
import {
  type ChunkRef,
  type ChunkWriter,
  type Manifest,
  type ManifestRef,
  type Repository,
  toInline,
} from "../repo/mod.ts";
import type { ProgressTracker } from "./progress.ts";

/** Bytes per read: large reads cost less per byte than the 64 KiB pieces of `file.readable`. */
const READ_PIECE = 1024 * 1024;

/** The content of `file`, each piece in memory of its own (chunks may be views of it). */
async function* readPieces(file: Deno.FsFile): AsyncGenerator<Uint8Array> {
  for (;;) {
    const piece = new Uint8Array(READ_PIECE);
    const n = await file.read(piece);
    if (n === null) return;
    yield n === piece.length ? piece : piece.subarray(0, n);
  }
}

/** A stored file's content. */
export interface StoredFile {
  /** Manifest id. */
  manifestId: string;
  /** The manifest, inline or as a reference to its stored object. */
  manifest: Manifest | ManifestRef;
  /** Whole-file id, as the repository's `oid` scheme defines it. */
  oid: string;
  /** Bytes read. */
  size: number;
}

/**
 * Store the file at `path`, expected to have `expected.size` bytes and mtime
 * `expected.mtime` (ms). A file that changes while it is read is an error:
 * its version would mix two states. Chunks are durable only after the
 * writer's `flush`.
 */
export async function storeFile(
  repo: Repository,
  writer: ChunkWriter,
  path: string,
  expected: { size: number; mtime: number },
  progress?: ProgressTracker,
): Promise<StoredFile> {
  progress?.update({ current: path });
  const file = await Deno.open(path, { read: true });
  let stored: StoredFile;
  try {
    stored = await storeContent(repo, writer, readPieces(file), expected.size, progress);
  } finally {
    try {
      file.close();
    } catch { /* the stream closed it */ }
  }
  const after = await Deno.lstat(path);
  if (
    after.size !== stored.size || after.mtime?.getTime() !== expected.mtime ||
    stored.size !== expected.size
  ) {
    throw new TcfsError(`${path} changed while it was being read; it was not stored (run again)`);
  }
  return stored;
}

/**
 * Store content that arrives as `pieces` (a local file, an object of another
 * bucket) and is expected to be `expectedSize` bytes: small content goes
 * inline in its manifest, the rest is cut into chunks for the writer. The
 * caller checks the returned size against what it expected. Chunks are
 * durable only after the writer's `flush`.
 */
export async function storeContent(
  repo: Repository,
  writer: ChunkWriter,
  pieces: AsyncIterable<Uint8Array>,
  expectedSize: number,
  progress?: ProgressTracker,
): Promise<StoredFile> {
  const hasher = repo.codec.fileHasher();
  const chunks: ChunkRef[] = [];
  let size = 0;
  let inline: string | undefined;
  if (expectedSize <= repo.config.inlineMax) {
    const parts: Uint8Array[] = [];
    for await (const piece of pieces) parts.push(piece), size += piece.length;
    const bytes = parts.length === 1 ? parts[0] : concatBytes(parts);
    hasher.update(bytes);
    inline = toInline(bytes);
  } else {
    // The writer encodes earlier chunks on its workers while this loop reads,
    // cuts and hashes the next ones; it waits here when it holds enough.
    const refs: Promise<ChunkRef>[] = [];
    const hashContent = !repo.codec.oidFromChunks; // else the id comes from the chunk list
    for await (const chunk of chunkStream(pieces, repo.config.chunker)) {
      const length = chunk.length;
      if (hashContent) hasher.update(chunk); // before the writer takes the chunk's memory
      refs.push((await writer.enqueue(chunk, size, { transfer: true })).ref);
      size += length;
      progress?.addBytes(length);
    }
    chunks.push(...await Promise.all(refs));
  }
  const oid = inline === undefined && repo.codec.oidFromChunks
    ? repo.codec.chunkListId(chunks)
    : toHex(hasher.digest());
  const manifest: Manifest = inline === undefined
    ? { v: 1, size, oid, chunks }
    : { v: 1, size, oid, chunks: [], inline };
  const { id, manifest: stored } = await repo.prepareManifest(manifest);
  return { manifestId: id, manifest: stored, oid, size };
}
