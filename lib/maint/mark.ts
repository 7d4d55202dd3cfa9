/**
 * Marking: which file versions still count, and which chunks, packs and
 * stored manifests they reference. Shared by garbage collection (what must
 * stay), scrub (what to verify) and prefetch (what to fetch).
 *
 * The versions that count for garbage collection are those some device may
 * still use within the grace period: every version in a commit record
 * younger than the grace period, and every head of the namespace made of the
 * older records. A device that refreshed within the grace period has seen
 * every older record, so any version it holds as a head (and may dedup a new
 * upload against) is one of these. Of the tombstones, only those within the
 * trash retention keep their content.
 *
 * @module
 */

import { MaintenanceAbortedError } from "../errors.ts";
import {
  type ChunkRef,
  type CommitRecord,
  Namespace,
  type PathVersion,
  readSnapshotHead,
  readSnapshotListingIds,
  readSnapshotRecords,
  type Repository,
  type SnapshotHead,
} from "../repo/mod.ts";
import { chunkKey, LOG_PREFIX, packKey, parseRecordKey } from "../repo/layout.ts";
import { listSnapshotNames, snapshotHeadKey } from "../repo/snapshot.ts";
import { listAll, mapLimit } from "../storage/mod.ts";

/** One stored chunk location that live data uses. */
export interface ChunkUse {
  /** How to read it. */
  ref: ChunkRef;
  /** Paths of the versions that reference it. */
  paths: Set<string>;
}

/** What a set of versions references. */
export interface References {
  /** Chunk locations by {@link locationOf}. */
  uses: Map<string, ChunkUse>;
  /** Ids of manifests stored apart (`manifests/`) that are referenced. */
  manifests: Set<string>;
  /** Versions examined. */
  versions: number;
}

/** Called for a stored manifest that cannot be read; without it, marking throws. */
export type UnreadableManifest = (v: PathVersion, error: unknown) => void;

/** A chunk location as a string: the object key, plus `@offset` inside a pack. */
export function locationOf(ref: ChunkRef): string {
  return ref.pack ? `${packKey(ref.pack.id)}@${ref.pack.offset}` : chunkKey(ref.id);
}

/**
 * Everything `versions` reference. Stored manifests are read (in parallel);
 * one that cannot be read goes to `onUnreadable`, or aborts marking with a
 * {@link MaintenanceAbortedError} when there is none.
 */
export async function referencesOf(
  repo: Repository,
  versions: Iterable<PathVersion>,
  concurrency: number,
  onUnreadable?: UnreadableManifest,
): Promise<References> {
  const out: References = { uses: new Map(), manifests: new Set(), versions: 0 };
  const stored: PathVersion[] = [];
  const add = (path: string, chunks: ChunkRef[]) => {
    for (const ref of chunks) {
      const at = locationOf(ref);
      const use = out.uses.get(at);
      if (use) use.paths.add(path);
      else out.uses.set(at, { ref, paths: new Set([path]) });
    }
  };
  for (const v of versions) {
    out.versions++;
    if (!v.manifest) continue;
    if ("ref" in v.manifest) {
      out.manifests.add(v.manifest.ref);
      stored.push(v);
    } else add(v.path, v.manifest.chunks);
  }
  const manifests = await mapLimit(stored, concurrency, async (v) => {
    try {
      return await repo.manifestOf(v);
    } catch (err) {
      if (!onUnreadable) {
        throw new MaintenanceAbortedError(
          `${v.path}: manifest ${v.manifestId} cannot be read (${(err as Error).message}); ` +
            "nothing was deleted: repair or restore it, then run again",
          { cause: err },
        );
      }
      onUnreadable(v, err);
      return null;
    }
  });
  stored.forEach((v, i) => {
    const m = manifests[i];
    if (m) add(v.path, m.chunks);
  });
  return out;
}

/** Options of {@link retainedVersions}. */
export interface RetentionOptions {
  /** The time the run started (ms since the epoch). */
  now: number;
  /** Objects and records younger than this are in use or in flight. */
  graceMs: number;
  /** How long deleted files stay restorable (ms). */
  trashMs: number;
  /** Parallel reads. */
  concurrency: number;
}

/** The versions garbage collection must keep, and how they were found. */
export interface Retained {
  /** Versions whose content must stay. */
  versions: PathVersion[];
  /** Commit records read. */
  recordsRead: number;
  /** The snapshot the older records were read from, if any. */
  snapshot: string | null;
}

/**
 * The versions that count (see the module documentation). Any record or
 * snapshot part that cannot be read aborts with a
 * {@link MaintenanceAbortedError}: never delete on partial knowledge.
 */
export async function retainedVersions(
  repo: Repository,
  opts: RetentionOptions,
): Promise<Retained> {
  const cutoff = opts.now - opts.graceMs;
  const older = new Namespace();
  const snapshot = await oldSnapshot(repo, cutoff);
  if (snapshot) {
    for (const r of await abortOnFailure(readSnapshotRecords(repo.store, repo.codec, snapshot))) {
      older.apply(r);
    }
  }
  const oldKeys: string[] = [];
  const recentKeys: string[] = [];
  for await (const o of listAll(repo.store, LOG_PREFIX)) {
    const named = parseRecordKey(o.key);
    if (!named || named.seq <= (snapshot?.cursors[named.device] ?? 0)) continue;
    // Without a modification time an object counts as young: keeping is the safe side.
    const old = o.lastModified !== undefined && o.lastModified.getTime() < cutoff;
    (old ? oldKeys : recentKeys).push(o.key);
  }
  const read = (keys: string[]) =>
    abortOnFailure(mapLimit(keys, opts.concurrency, (k) => repo.readRecord(k)));
  for (const r of await read(oldKeys)) older.apply(r);
  const recent: CommitRecord[] = await read(recentKeys);
  const trashCutoff = opts.now - opts.trashMs - opts.graceMs;
  const versions: PathVersion[] = recent.flatMap((r) => r.versions);
  for (const path of older.allPaths()) {
    for (const h of older.heads(path)) if (!h.deleted || h.time >= trashCutoff) versions.push(h);
  }
  return {
    versions,
    recordsRead: oldKeys.length + recentKeys.length,
    snapshot: snapshot?.name ?? null,
  };
}

/**
 * The ids of every listing that a complete snapshot's tree uses (listings
 * of incomplete snapshots are young while their compactor runs).
 */
export async function referencedListings(
  repo: Repository,
  concurrency: number,
): Promise<Set<string>> {
  const names = await listSnapshotNames(repo.store);
  const ids = await abortOnFailure(mapLimit(names, concurrency, async (name) => {
    const head = await readSnapshotHead(repo.store, repo.codec, name);
    return head ? await readSnapshotListingIds(repo.store, repo.codec, head) : [];
  }));
  return new Set(ids.flat());
}

/** The newest complete snapshot written before `cutoff`: all it covers is older. */
async function oldSnapshot(repo: Repository, cutoff: number): Promise<SnapshotHead | null> {
  for (const name of await listSnapshotNames(repo.store)) {
    const info = await repo.store.head(snapshotHeadKey(name));
    const written = info?.lastModified?.getTime();
    if (written === undefined || written >= cutoff) continue;
    const head = await abortOnFailure(readSnapshotHead(repo.store, repo.codec, name));
    if (head) return head;
  }
  return null;
}

async function abortOnFailure<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new MaintenanceAbortedError(
      `the namespace could not be read completely (${(err as Error).message}); ` +
        "nothing was deleted: run again, and check the repository with scrub if it persists",
      { cause: err },
    );
  }
}
