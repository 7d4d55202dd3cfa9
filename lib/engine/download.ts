/**
 * Writing one file version to disk from its chunks, verified chunk by chunk.
 * Used by pull, sync and hydration.
 *
 * What is verified, and why that is enough: the manifest comes from an
 * authenticated record (or an object whose id, a keyed hash, is checked), its
 * chunk list is checked to cover the file exactly (contiguous offsets, sizes
 * adding up), and each chunk is checked against its id (keyed BLAKE3 when
 * encrypted) as it is decoded. The content written is therefore exactly the
 * one the manifest names, and hashing it once more for the whole-file id
 * would only re-check what the writer computed. That second pass over every
 * byte is skipped for chunked files. Where it costs nothing it is still
 * checked: inline content is hashed, an id made from the chunk list (repository
 * `oid: "chunks-v1"`) is recomputed, and otherwise a one-chunk file's id must
 * equal its chunk's id. See docs/FORMAT.md, "Chunks" and "Whole-file ids".
 *
 * @module
 */

import { IntegrityError, TcfsError } from "../errors.ts";
import { toHex } from "../hash/mod.ts";
import { inlineBytes, type Manifest, type PathVersion, type Repository } from "../repo/mod.ts";
import type { ChunkSource } from "./chunk_source.ts";
import type { ProgressTracker } from "./progress.ts";

/** Files at least this large are fsynced before they are moved into place. */
const SYNC_THRESHOLD = 1024 * 1024;
/**
 * A large file's data is synced every this many bytes as it is written: the
 * disk writes while later chunks are still being fetched and decoded, instead
 * of all at once in the final sync (~0.5 s per GiB here, on top of the pull).
 */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * Download, verify and write one file at `path` (which must not exist: the
 * caller writes to a fresh temp name and renames), then set its mode and
 * mtime. Chunks are fetched and decoded (on the codec's worker threads) up
 * to `concurrency` ahead and written in order, so memory stays bounded by a
 * few chunks.
 */
export async function downloadFile(
  v: PathVersion,
  manifest: Manifest,
  path: string,
  source: ChunkSource,
  opts: { concurrency: number; repo: Repository },
  progress?: ProgressTracker,
): Promise<void> {
  progress?.update({ current: v.path });
  const concurrency = opts.concurrency;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    if (manifest.inline !== undefined) {
      const bytes = inlineBytes(manifest);
      const hasher = opts.repo.codec.fileHasher();
      hasher.update(bytes);
      if (toHex(hasher.digest()) !== manifest.oid) {
        throw new IntegrityError(`${v.path}: the inline content does not match its hash`);
      }
      await writeAll(file, bytes);
    } else {
      const chunks = manifest.chunks;
      // Free to check: an id made from the chunk list, or a one-chunk file's id, which is then
      // its chunk's id (same keyed hash of the same bytes).
      const agree = opts.repo.codec.oidFromChunks
        ? opts.repo.codec.chunkListId(chunks) === manifest.oid
        : chunks.length !== 1 || chunks[0].id === manifest.oid;
      if (!agree) {
        throw new IntegrityError(`${v.path}: its manifest's file id and chunk ids disagree`);
      }
      // Fetch up to `concurrency` chunks ahead, write in order: memory stays bounded.
      const window = new Map<number, Promise<Uint8Array>>();
      const fetch = (i: number) => {
        if (i >= chunks.length || window.has(i)) return;
        const read = source.read(chunks[i]);
        read.catch(() => {}); // awaited in order below; a failure must not go unhandled meanwhile
        window.set(i, read);
      };
      for (let i = 0; i < Math.min(concurrency, chunks.length); i++) fetch(i);
      let unsynced = 0;
      for (let i = 0; i < chunks.length; i++) {
        let data: Uint8Array;
        try {
          data = await window.get(i)!;
        } catch (err) {
          // Settle what is still in flight before failing, so nothing dangles.
          await Promise.allSettled(window.values());
          if (err instanceof TcfsError) {
            throw new IntegrityError(`${v.path}: ${err.message}`, { cause: err });
          }
          throw err;
        }
        window.delete(i);
        fetch(i + concurrency);
        await writeAll(file, data);
        progress?.addBytes(data.length);
        unsynced += data.length;
        if (unsynced >= SYNC_EVERY) {
          await file.syncData();
          unsynced = 0;
        }
      }
    }
    // Large files are synced; small ones are not (one fsync each would dominate a tree pull,
    // and the repository still holds every byte).
    if (manifest.size >= SYNC_THRESHOLD) await file.sync();
  } finally {
    file.close();
  }
  await Deno.chmod(path, v.mode);
  await Deno.utime(path, new Date(), new Date(v.mtime));
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
}
