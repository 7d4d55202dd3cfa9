/**
 * Writing one file version to disk from its chunks, verified chunk by chunk
 * and as a whole. Used by pull, sync and hydration.
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
 * Download, verify and write one file at `path` (which must not exist: the
 * caller writes to a fresh temp name and renames), then set its mode and
 * mtime. Chunks are fetched up to `concurrency` ahead and written in order,
 * so memory stays bounded by a few chunks.
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
  const hasher = opts.repo.codec.fileHasher();
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    if (manifest.inline !== undefined) {
      const bytes = inlineBytes(manifest);
      hasher.update(bytes);
      await writeAll(file, bytes);
    } else {
      // Fetch up to `concurrency` chunks ahead, write in order: memory stays bounded.
      const chunks = manifest.chunks;
      const window = new Map<number, Promise<Uint8Array>>();
      const fetch = (i: number) => {
        if (i >= chunks.length || window.has(i)) return;
        const read = source.read(chunks[i]);
        read.catch(() => {}); // awaited in order below; a failure must not go unhandled meanwhile
        window.set(i, read);
      };
      for (let i = 0; i < Math.min(concurrency, chunks.length); i++) fetch(i);
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
        hasher.update(data);
        await writeAll(file, data);
        progress?.addBytes(data.length);
      }
    }
    // Large files are synced; small ones are not (one fsync each would dominate a tree pull,
    // and the repository still holds every byte).
    if (manifest.size >= SYNC_THRESHOLD) await file.sync();
  } finally {
    file.close();
  }
  if (toHex(hasher.digest()) !== manifest.oid) {
    throw new IntegrityError(`${v.path}: the assembled file does not match its hash (corrupted)`);
  }
  await Deno.chmod(path, v.mode);
  await Deno.utime(path, new Date(), new Date(v.mtime));
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
}
