/**
 * The on-disk layout of a chunk cache directory:
 *
 * ```text
 * <dir>/<aa>/<chunk id>        decoded (plaintext) chunk, mode 0600
 * <dir>/<aa>/<id>.tmp-<rand>   a write in progress (removed when the cache opens)
 * <dir>/lru                    chunk ids, least recently used first (written on close)
 * ```
 *
 * `<aa>` is the first two hex digits of the id, as in the repository layout.
 * The directory is created with mode 0700: it holds decrypted content.
 *
 * @module
 */

import { join } from "node:path";
import type { Config } from "../config/mod.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const INDEX_NAME = "lru";

/** One cached chunk found on disk. */
export interface CachedFile {
  /** Chunk id. */
  id: string;
  /** File size in bytes. */
  size: number;
}

/**
 * The chunk cache directory of repository `repoId` under the configured
 * `cache.dir`, or `<state.dir>/cache` when that is empty.
 */
export function chunkCacheDir(
  config: { cache: Pick<Config["cache"], "dir">; state: Pick<Config["state"], "dir"> },
  repoId: string,
): string {
  return join(config.cache.dir || join(config.state.dir, "cache"), repoId);
}

/** Where chunk `id` lives under `dir`. */
export function chunkPath(dir: string, id: string): string {
  return join(dir, id.slice(0, 2), id);
}

/**
 * Every cached chunk under `dir`, least recently used first: in the order of
 * the index written at the last close, then (entries the index does not
 * know, e.g. after a crash) by modification time. Leftover temp files of
 * interrupted writes are removed. Creates `dir` if needed.
 */
export async function scanCacheDir(dir: string): Promise<CachedFile[]> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const found = new Map<string, CachedFile & { mtime: number }>();
  for await (const sub of Deno.readDir(dir)) {
    if (!sub.isDirectory || !HEX2.test(sub.name)) continue;
    for await (const e of Deno.readDir(join(dir, sub.name))) {
      const path = join(dir, sub.name, e.name);
      if (e.isFile && e.name.includes(".tmp-")) {
        await removeQuietly(path);
        continue;
      }
      if (!e.isFile || !HEX64.test(e.name) || !e.name.startsWith(sub.name)) continue;
      const info = await Deno.stat(path);
      found.set(e.name, { id: e.name, size: info.size, mtime: info.mtime?.getTime() ?? 0 });
    }
  }
  const ordered: CachedFile[] = [];
  for (const id of await readIndex(dir)) {
    const f = found.get(id);
    if (!f) continue;
    found.delete(id);
    ordered.push({ id, size: f.size });
  }
  const rest = [...found.values()].sort((a, b) => a.mtime - b.mtime);
  // Unindexed files go first: they were written after the last clean close, but their use is
  // unknown; evicting them before chunks whose recent use is recorded is the safer guess.
  return [...rest.map(({ id, size }) => ({ id, size })), ...ordered];
}

/** Write `data` as chunk `id` atomically (temp file, then rename), mode 0600. */
export async function writeChunkFile(dir: string, id: string, data: Uint8Array): Promise<void> {
  const path = chunkPath(dir, id);
  await Deno.mkdir(join(dir, id.slice(0, 2)), { recursive: true, mode: 0o700 });
  await writeAtomic(path, data);
}

/**
 * Which file a cached chunk is on disk: inode, size and change times. A file
 * with the same stamp as one already checked against its id is that same
 * file; one rewritten, truncated or swapped in by another process differs.
 */
export interface FileStamp {
  /** Inode number. */
  ino: number;
  /** Size in bytes. */
  size: number;
  /** Modification time (ms). */
  mtime: number;
  /** Status change time (ms). */
  ctime: number;
}

/** The stamp of a file from its stat. */
export function stampOf(info: Deno.FileInfo): FileStamp {
  return {
    ino: info.ino ?? -1,
    size: info.size,
    mtime: info.mtime?.getTime() ?? -1,
    ctime: info.ctime?.getTime() ?? -1,
  };
}

/** Whether two stamps are of the same, unchanged file. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtime === b.mtime && a.ctime === b.ctime;
}

/** Write chunk `id` (atomically); resolves with the stamp of the file written. */
export async function writeStampedChunk(
  dir: string,
  id: string,
  data: Uint8Array,
): Promise<FileStamp> {
  await writeChunkFile(dir, id, data);
  return stampOf(await Deno.stat(chunkPath(dir, id)));
}

/** The content of chunk file `id` with the stamp of the file read; null when it is missing. */
export async function readStampedChunk(
  dir: string,
  id: string,
): Promise<{ data: Uint8Array; stamp: FileStamp } | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(chunkPath(dir, id), { read: true });
  } catch {
    return null;
  }
  try {
    const info = await file.stat();
    const data = new Uint8Array(info.size);
    let got = 0;
    while (got < data.length) {
      const n = await file.read(data.subarray(got));
      if (n === null) break;
      got += n;
    }
    return { data: data.subarray(0, got), stamp: stampOf(info) };
  } finally {
    file.close();
  }
}

/** Record the LRU order (least recently used first) for the next open. */
export async function writeIndex(dir: string, ids: Iterable<string>): Promise<void> {
  let text = "";
  for (const id of ids) text += id + "\n";
  await writeAtomic(join(dir, INDEX_NAME), new TextEncoder().encode(text));
}

/** Remove a file; a file already gone is not an error. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

async function readIndex(dir: string): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(join(dir, INDEX_NAME));
    return text.split("\n").filter((line) => HEX64.test(line));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  // No fsync: the cache can always be refilled from the repository, and a file that a crash
  // left short or garbled fails the length and hash checks on read and is fetched again.
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(tmp, data, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await removeQuietly(tmp);
    throw err;
  }
}
