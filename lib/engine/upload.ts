/**
 * Storing one local file's content: read it once as a stream, cut it into
 * chunks, hash it as a whole on the way, hand each chunk to the writer (which
 * deduplicates and uploads), and build its manifest. Used by push and sync.
 *
 * @module
 */

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

/** A stored file's content. */
export interface StoredFile {
  /** Manifest id. */
  manifestId: string;
  /** The manifest, inline or as a reference to its stored object. */
  manifest: Manifest | ManifestRef;
  /** Whole-file id (keyed BLAKE3 when encrypted). */
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
  const hasher = repo.codec.fileHasher();
  const chunks: ChunkRef[] = [];
  let size = 0;
  let inline: string | undefined;
  const file = await Deno.open(path, { read: true });
  try {
    if (expected.size <= repo.config.inlineMax) {
      const bytes = new Uint8Array(await new Response(file.readable).arrayBuffer());
      hasher.update(bytes);
      size = bytes.length;
      inline = toInline(bytes);
    } else {
      for await (const chunk of chunkStream(file.readable, repo.config.chunker)) {
        hasher.update(chunk);
        chunks.push(await writer.add(chunk, size));
        size += chunk.length;
        progress?.addBytes(chunk.length);
      }
    }
  } finally {
    try {
      file.close();
    } catch { /* the stream closed it */ }
  }
  const after = await Deno.lstat(path);
  if (after.size !== size || after.mtime?.getTime() !== expected.mtime || size !== expected.size) {
    throw new TcfsError(`${path} changed while it was being read; it will be stored next time`);
  }
  const oid = toHex(hasher.digest());
  const manifest: Manifest = inline === undefined
    ? { v: 1, size, oid, chunks }
    : { v: 1, size, oid, chunks: [], inline };
  const { id, manifest: stored } = await repo.prepareManifest(manifest);
  return { manifestId: id, manifest: stored, oid, size };
}
