/**
 * Committed file content as the mount serves it: manifests (resolved once
 * and remembered), range reads through the chunk cache that fetch only the
 * chunks covering the range, full hydration (every chunk into the cache),
 * copies into a working file for writing, and the stub text of a file or
 * directory. A file is hydrated when every chunk of it is in the cache, so
 * the cache's quota and LRU eviction decide what stays local, and an evicted
 * file simply shows as a stub again.
 *
 * @module
 */

import { type CachePin, type ChunkCache, ChunkReadError, RangeReader } from "../cache/mod.ts";
import { formatDirStub, formatFileStub } from "../format/mod.ts";
import type { StatfsReply } from "../fuse/ops.ts";
import {
  fromWire,
  type Manifest,
  type Namespace,
  type Repository,
  type WireManifest,
} from "../repo/mod.ts";
// Not re-exported by repo/mod.ts: only readers of stored manifests need the key.
import { manifestKey } from "../repo/layout.ts";
import { IntegrityError } from "../errors.ts";
import { mapLimit } from "../storage/mod.ts";
import type { FileContent } from "./inodes.ts";
import type { LocalFile } from "./local_file.ts";

/** Resolved manifests kept in memory (large files' manifests are stored apart). */
const MANIFEST_MEMORY = 1024;
/** Chunks fetched at once by a full hydration or a copy. */
const FILL_CONCURRENCY = 4;

/** Block size statfs reports. */
const STATFS_BLOCK = 4096;

/** Committed content of the mount's files, read through the chunk cache. */
export class ContentStore {
  /** The repository. */
  readonly repo: Repository;
  /** The chunk cache. */
  readonly cache: ChunkCache;
  readonly #manifests = new Map<string, Manifest>();

  /** Content of `repo` read through `cache`. */
  constructor(repo: Repository, cache: ChunkCache) {
    this.repo = repo;
    this.cache = cache;
  }

  /** The manifest if it is at hand without a fetch (inline in its record, or resolved before). */
  known(c: FileContent): Manifest | undefined {
    return "ref" in c.manifest ? this.#manifests.get(c.manifestId) : c.manifest;
  }

  /** The manifest, fetched and verified when it is stored apart. */
  async manifest(c: FileContent): Promise<Manifest> {
    const known = this.known(c);
    if (known) return known;
    const key = manifestKey(c.manifestId);
    const wire = await this.repo.codec.decodeMeta<WireManifest>(
      key,
      await this.repo.store.get(key),
    );
    const m = fromWire(wire, key);
    if (this.repo.manifestId(m) !== c.manifestId) {
      throw new IntegrityError(`${key}: manifest does not match its id`);
    }
    if (this.#manifests.size >= MANIFEST_MEMORY) {
      this.#manifests.delete(this.#manifests.keys().next().value!);
    }
    this.#manifests.set(c.manifestId, m);
    return m;
  }

  /** Whether every chunk of `m` is in the cache (inline and empty files always are). */
  isCached(m: Manifest): boolean {
    return m.chunks.every((c) => this.cache.has(c.id));
  }

  /** Bytes of `m` in the cache. */
  cachedBytes(m: Manifest): number {
    if (m.chunks.length === 0) return m.size;
    return m.chunks.reduce((n, c) => n + (this.cache.has(c.id) ? c.size : 0), 0);
  }

  /** A reader of `m`'s bytes (only the chunks a read covers are fetched). */
  reader(m: Manifest, path: string): RangeReader {
    return new RangeReader(this.cache, m, { path });
  }

  /** Fetch every chunk of `m` into the cache. Failures are {@linkcode ChunkReadError}s. */
  async hydrate(m: Manifest, path: string, signal?: AbortSignal): Promise<void> {
    await mapLimit(m.chunks, FILL_CONCURRENCY, async (ref) => {
      if (this.cache.has(ref.id)) return;
      // Background priority: a reader waiting for its bytes goes first.
      await this.cache.read(ref, { signal, priority: "background" }).catch((err) => {
        throw signal?.aborted ? err : new ChunkReadError(path, ref.id, err);
      });
    });
  }

  /**
   * Put the chunks of `m` into the cache from `file`, a local copy of the same
   * content (a written file just committed), so the file stays local once
   * that copy is gone. Resolves with whether the cache holds every chunk:
   * false when `m` is larger than the quota or the file no longer matches
   * (written again since); what did match is kept.
   */
  async keepFrom(m: Manifest, file: string): Promise<boolean> {
    if (m.size > this.cache.maxBytes) return false;
    using f = await Deno.open(file, { read: true });
    for (const c of m.chunks) {
      if (this.cache.has(c.id)) continue;
      const bytes = new Uint8Array(c.size);
      await f.seek(c.offset, Deno.SeekMode.Start);
      for (let got = 0; got < c.size;) {
        const n = await f.read(bytes.subarray(got));
        if (n === null) return false;
        got += n;
      }
      if (!await this.cache.put(c.id, bytes)) return false;
    }
    return this.isCached(m);
  }

  /** Write the whole content of `m` into `file` (a new working copy). */
  async copyTo(m: Manifest, path: string, file: LocalFile, signal?: AbortSignal): Promise<void> {
    const reader = this.reader(m, path);
    try {
      const piece = 4 * 1024 * 1024;
      for (let at = 0; at < m.size; at += piece) {
        await file.write(at, await reader.read(at, piece, signal));
      }
    } finally {
      reader.close();
    }
  }

  /** Keep `m`'s chunks in the cache until the pin is released. */
  pin(m: Manifest): CachePin {
    return this.cache.pin(m.chunks.map((c) => c.id));
  }

  /** statfs figures: the cache's quota as the size, what is left of it as free space. */
  statfs(inodes: number): StatfsReply {
    const s = this.cache.stats();
    const free = Math.max(0, Math.floor((s.maxBytes - s.bytes) / STATFS_BLOCK));
    return {
      blocks: Math.ceil(s.maxBytes / STATFS_BLOCK),
      bfree: free,
      bavail: free,
      files: 1_000_000 + inodes,
      ffree: 1_000_000,
      bsize: STATFS_BLOCK,
      namelen: 255,
    };
  }

  /** The `.tc` stub text of a file at `path`. */
  fileStub(
    path: string,
    c: FileContent,
    m: Manifest,
    meta: { size: number; mode: number; mtime: number },
  ): Uint8Array {
    return new TextEncoder().encode(formatFileStub({
      chunks: m.chunks.length,
      compressed: 0,
      fetched: this.cachedBytes(m),
      oid: `blake3:${m.oid}`,
      origin: `${this.repo.store.url}${path}`,
      size: meta.size,
      mode: meta.mode,
      mtime: Math.max(0, Math.floor(meta.mtime)),
      manifest: `blake3:${c.manifestId}`,
    }));
  }

  /** The `.tcf` stub text of the directory at `path`, listing its committed children. */
  dirStub(ns: Namespace, path: string, meta: { mode: number; mtime: number }): Uint8Array {
    const entries = ns.list(path).map((e) => ({
      name: e.name,
      kind: e.kind,
      size: e.kind === "dir" ? 0 : e.version?.size ?? 0,
    }));
    return new TextEncoder().encode(formatDirStub({
      origin: `${this.repo.store.url}${path}`,
      entries,
      mode: meta.mode,
      mtime: Math.max(0, Math.floor(meta.mtime)),
    }));
  }
}
