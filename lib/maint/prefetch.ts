/**
 * Prefetch: read the chunks of given files or directories ahead of use and
 * hand them to a sink (e.g. a device's chunk cache), so opening them later
 * costs no round trip to the store. Chunks that share a pack are fetched
 * with one ranged read (see lib/engine/chunk_source.ts).
 *
 * @module
 */

import { ChunkSource } from "../engine/mod.ts";
import { NotFoundError } from "../errors.ts";
import {
  type Namespace,
  normalizeRemotePath,
  type PathVersion,
  type Repository,
} from "../repo/mod.ts";
import { mapLimit } from "../storage/mod.ts";
import { referencesOf } from "./mark.ts";

/** Where prefetched chunks go. */
export interface ChunkSink {
  /** Whether the sink holds chunk `id` already (then it is not fetched). */
  has?(id: string): boolean | Promise<boolean>;
  /** Take a verified chunk's plaintext. */
  put(id: string, plain: Uint8Array): void | Promise<void>;
}

/** Options of {@link prefetchChunks}. */
export interface PrefetchOptions {
  /** The namespace to resolve paths in (default: read it now). */
  ns?: Namespace;
  /** Chunks read at once (default 4). */
  concurrency?: number;
}

/** What a prefetch did. */
export interface PrefetchReport {
  /** Files whose chunks were wanted. */
  files: number;
  /** Chunks fetched and handed to the sink. */
  chunks: number;
  /** Plaintext bytes of those. */
  bytes: number;
  /** Chunks the sink had already. */
  skipped: number;
}

/** How {@link filesAt} resolves directories and paths that name nothing. */
export interface FilesAtOptions {
  /** A directory means every live file below it (true) or only those directly in it (false). */
  below: boolean;
  /** A path that names nothing: a NotFoundError ("throw"), or passed over ("skip"). */
  missing: "throw" | "skip";
}

/**
 * The live file versions at `paths` (remote paths) in `ns`, by path: a file
 * itself, a directory's files as `opts.below` says; other kinds are passed
 * over.
 */
export function filesAt(
  ns: Namespace,
  paths: Iterable<string>,
  opts: FilesAtOptions,
): Map<string, PathVersion> {
  const files = new Map<string, PathVersion>();
  for (const input of paths) {
    const path = normalizeRemotePath(input);
    const v = ns.get(path);
    if (v?.kind === "file") files.set(path, v);
    else if (ns.isDir(path)) {
      const entries = opts.below ? ns.walk(path) : ns.list(path);
      for (const e of entries) if (e.version?.kind === "file") files.set(e.path, e.version);
    } else if (!v && opts.missing === "throw") {
      throw new NotFoundError(`${path}: no such file or directory in the repository`);
    }
  }
  return files;
}

/**
 * Fetch the chunks of the files at `paths` (remote paths; a directory means
 * every live file below it) into `sink`. A path that does not exist is a
 * NotFoundError; nothing is fetched then.
 */
export async function prefetchChunks(
  repo: Repository,
  paths: string[],
  sink: ChunkSink,
  opts: PrefetchOptions = {},
): Promise<PrefetchReport> {
  const ns = opts.ns ?? await repo.refresh();
  const files = filesAt(ns, paths, { below: true, missing: "throw" });
  const concurrency = opts.concurrency ?? 4;
  const refs = await referencesOf(repo, files.values(), concurrency, (_, err) => {
    throw err;
  });
  const report: PrefetchReport = { files: files.size, chunks: 0, bytes: 0, skipped: 0 };
  const wanted = [];
  const ids = new Set<string>();
  for (const { ref } of refs.uses.values()) {
    if (ids.has(ref.id)) continue;
    ids.add(ref.id);
    if (await sink.has?.(ref.id)) report.skipped++;
    else wanted.push(ref);
  }
  const source = new ChunkSource(repo);
  source.plan(wanted);
  await mapLimit(wanted, concurrency, async (ref) => {
    const plain = await source.read(ref);
    await sink.put(ref.id, plain);
    report.chunks++;
    report.bytes += plain.length;
  });
  return report;
}
