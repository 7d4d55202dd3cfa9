/**
 * Compaction: fold the commit records into a snapshot of the merged
 * namespace at the current per-device cursors, with a listing per directory
 * (docs/FORMAT.md, "Snapshots" and "Listings"). A new device then reads the
 * snapshot plus the records written after it.
 *
 * Every object is written with put-if-absent under a key that its content
 * determines (listings) or that carries the cursors (snapshot parts and
 * head), and equal cursors give equal plaintext, so a repeated run or two
 * compactors at once do no harm. The head is written last: a snapshot is
 * visible only once complete.
 *
 * Commit records are never deleted: every device keeps working from any
 * cursor, and garbage collection and conflict history keep their source.
 * Old snapshots are removed once `keepSnapshots` newer complete ones exist
 * and a newer one has existed for longer than the grace period (so no
 * compactor or reader that started from the old one is still running,
 * given that a run finishes within the grace period).
 *
 * @module
 */

import {
  applyNewestSnapshot,
  buildListings,
  encodeListing,
  encodeSnapshotDirs,
  encodeSnapshotHead,
  encodeSnapshotPart,
  LISTINGS_PER_PART,
  listSnapshotNames,
  Namespace,
  readSnapshotHead,
  readSnapshotListingIds,
  type Repository,
  snapshotDirsKey,
  type SnapshotHead,
  snapshotHeadKey,
  snapshotName,
  snapshotPartKey,
  snapshotParts,
} from "../repo/mod.ts";
import { listingKey, SNAPSHOTS_PREFIX } from "../repo/layout.ts";
import { listAll, mapLimit } from "../storage/mod.ts";
import type { Fence } from "./fence.ts";
import { DEFAULT_GRACE_MS } from "./gc.ts";

/** Options of {@link compactNamespace}. */
export interface CompactOptions {
  /** Called before writing and before deleting old snapshots; throws to stop the run. */
  fence?: Fence;
  /** Complete snapshots to keep (default 3, at least 1). */
  keepSnapshots?: number;
  /** How long an old snapshot must have been replaced before it is removed (default one day). */
  graceMs?: number;
  /** Parallel requests (default 16). */
  concurrency?: number;
  /** The time the run starts (default now). */
  now?: number;
}

/** What a compaction did. */
export interface CompactReport {
  /** Name of the snapshot at the current cursors, or `null` for an empty repository. */
  snapshot: string | null;
  /** Whether this run wrote it (false: it existed already). */
  written: boolean;
  /** Paths in it. */
  paths: number;
  /** Part objects in it. */
  parts: number;
  /** Listings written by this run. */
  listingsWritten: number;
  /** Listings the previous snapshot already had. */
  listingsReused: number;
  /** Old snapshots removed. */
  snapshotsDeleted: number;
}

/** Write a snapshot at the current cursors unless it exists; then apply the retention. */
export async function compactNamespace(
  repo: Repository,
  opts: CompactOptions = {},
): Promise<CompactReport> {
  const concurrency = opts.concurrency ?? 16;
  const ns = new Namespace();
  const previous = await applyNewestSnapshot(repo.store, repo.codec, ns);
  await repo.refresh(ns);
  const state = ns.exportState();
  const report: CompactReport = {
    snapshot: null,
    written: false,
    paths: state.heads.length,
    parts: 0,
    listingsWritten: 0,
    listingsReused: 0,
    snapshotsDeleted: 0,
  };
  if (Object.keys(state.cursors).length === 0) return report;
  const name = report.snapshot = snapshotName(repo.codec, state.cursors);
  if (previous?.name !== name && !(await readSnapshotHead(repo.store, repo.codec, name))) {
    const tree = buildListings(ns, repo.codec);
    const reusable = new Set(
      previous ? await readSnapshotListingIds(repo.store, repo.codec, previous) : [],
    );
    const fresh = [...tree.listings.keys()].filter((id) => !reusable.has(id));
    report.listingsReused = tree.listings.size - fresh.length;
    await opts.fence?.();
    await mapLimit(fresh, concurrency, async (id) => {
      const body = await encodeListing(repo.codec, id, tree.listings.get(id));
      if (await repo.store.putIfAbsent(listingKey(id), body)) report.listingsWritten++;
    });
    const parts = snapshotParts(state);
    const ids = [...tree.listings.keys()].sort();
    const dirParts: string[][] = [];
    for (let i = 0; i < ids.length; i += LISTINGS_PER_PART) {
      dirParts.push(ids.slice(i, i + LISTINGS_PER_PART));
    }
    await opts.fence?.();
    await mapLimit([...parts.keys()], concurrency, async (i) => {
      const body = await encodeSnapshotPart(repo.codec, name, i, parts[i]);
      await repo.store.putIfAbsent(snapshotPartKey(name, i), body);
    });
    await mapLimit([...dirParts.keys()], concurrency, async (i) => {
      const body = await encodeSnapshotDirs(repo.codec, name, i, dirParts[i]);
      await repo.store.putIfAbsent(snapshotDirsKey(name, i), body);
    });
    const head: SnapshotHead = {
      name,
      cursors: state.cursors,
      parts: parts.length,
      paths: state.heads.length,
      root: tree.root,
      dirParts: dirParts.length,
      time: opts.now ?? Date.now(),
    };
    await opts.fence?.();
    report.written = await repo.store.putIfAbsent(
      snapshotHeadKey(name),
      await encodeSnapshotHead(repo.codec, head),
    );
    report.parts = parts.length;
  }
  report.snapshotsDeleted = await pruneSnapshots(repo, opts, concurrency);
  return report;
}

/** Remove snapshot folders past the retention (see the module documentation). */
async function pruneSnapshots(
  repo: Repository,
  opts: CompactOptions,
  concurrency: number,
): Promise<number> {
  const keep = Math.max(1, opts.keepSnapshots ?? 3);
  const cutoff = (opts.now ?? Date.now()) - (opts.graceMs ?? DEFAULT_GRACE_MS);
  let complete = 0;
  let settled = false; // a complete snapshot newer than the ones below exists since before cutoff
  const doomed: string[] = [];
  for (const name of await listSnapshotNames(repo.store)) {
    const info = await repo.store.head(snapshotHeadKey(name));
    if (complete >= keep && settled) doomed.push(name);
    if (!info) continue;
    complete++;
    const written = info.lastModified?.getTime();
    if (written !== undefined && written < cutoff) settled = true;
  }
  for (const name of doomed) {
    await opts.fence?.();
    // The head goes first, so a reader never takes a half-removed snapshot for a complete one.
    await repo.store.delete(snapshotHeadKey(name));
    const keys: string[] = [];
    for await (const o of listAll(repo.store, `${SNAPSHOTS_PREFIX}${name}/`)) keys.push(o.key);
    await mapLimit(keys, concurrency, (key) => repo.store.delete(key));
  }
  return doomed.length;
}
