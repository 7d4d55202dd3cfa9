/**
 * Garbage collection: mark what the namespace still references (see
 * mark.ts), then sweep chunk objects, packs, stored manifests and listings
 * that nothing references.
 *
 * Safety rules:
 * - An object younger than the grace period (by the store's LastModified)
 *   is never deleted, referenced or not: it may belong to an upload whose
 *   commit record is not written yet. The grace period must exceed the
 *   longest push (first upload to commit record) plus the clock skew between
 *   this machine and the store.
 * - If any commit record, snapshot part, stored manifest or listing cannot be
 *   read, the run aborts before deleting anything.
 * - The caller's `fence` is called before every batch of deletions; it
 *   throws when the caller has lost its leadership, which stops the run.
 *
 * A pack is deleted only when none of its chunks is referenced. A partly
 * referenced pack stays whole (its location is written in the manifests
 * that use it, so rewriting it would mean rewriting those versions); the
 * report counts such packs and their unreferenced bytes.
 *
 * @module
 */

import { MaintenanceAbortedError } from "../errors.ts";
import type { Repository } from "../repo/mod.ts";
import { DATA_PREFIX, LISTINGS_PREFIX, MANIFESTS_PREFIX, PACKS_PREFIX } from "../repo/layout.ts";
import { listAll, mapLimit, type ObjectInfo } from "../storage/mod.ts";
import type { Fence } from "./fence.ts";
import { referencedListings, referencesOf, retainedVersions } from "./mark.ts";

/** Default grace period: one day. */
export const DEFAULT_GRACE_MS = 24 * 3_600_000;

/** Options of {@link collectGarbage}. */
export interface GcOptions {
  /** How long deleted files stay restorable, in days (`sync.trash_days`). */
  trashDays: number;
  /** Objects and records younger than this are never swept (default one day). */
  graceMs?: number;
  /** Report what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** Called before each batch of deletions; throws to stop the run (a deposed leader). */
  fence?: Fence;
  /** Parallel requests (default 16). */
  concurrency?: number;
  /** Deletions between two fence checks (default 100). */
  batchSize?: number;
  /** Told when a phase starts; awaited (a worker heartbeats here). */
  onProgress?: (p: GcProgress) => void | Promise<void>;
  /** The time the run starts (default now); ages are measured from it. */
  now?: number;
}

/** Where a run is. */
export interface GcProgress {
  /** The phase that starts. */
  phase: "mark" | "sweep" | "delete";
  /** Objects deleted (or that would be, in a dry run) so far. */
  deleted: number;
}

/** Counts per kind of swept object. */
export interface SweepCount {
  /** Objects listed. */
  listed: number;
  /** Objects deleted (would be, in a dry run). */
  deleted: number;
  /** Bytes of those. */
  deletedBytes: number;
  /** Unreferenced objects kept because they are younger than the grace period. */
  keptYoung: number;
}

/** What a run found and did. */
export interface GcReport {
  /** Nothing was deleted because `dryRun` was set. */
  dryRun: boolean;
  /** Versions whose content was kept. */
  versions: number;
  /** Commit records read. */
  recordsRead: number;
  /** The snapshot older records were read from, if any. */
  snapshot: string | null;
  /** Per prefix: `data`, `packs`, `manifests`, `listings`. */
  swept: Record<SweptKind, SweepCount>;
  /** Packs kept because some, not all, of their chunks are referenced. */
  partialPacks: number;
  /** Bytes in those packs that nothing references. */
  partialPackWaste: number;
}

/** The prefixes garbage collection sweeps. */
export type SweptKind = "data" | "packs" | "manifests" | "listings";

const PREFIXES: Record<SweptKind, string> = {
  data: DATA_PREFIX,
  packs: PACKS_PREFIX,
  manifests: MANIFESTS_PREFIX,
  listings: LISTINGS_PREFIX,
};

/** Mark and sweep the repository; see the module documentation for the rules. */
export async function collectGarbage(repo: Repository, opts: GcOptions): Promise<GcReport> {
  const now = opts.now ?? Date.now();
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const concurrency = opts.concurrency ?? 16;
  const cutoff = now - graceMs;
  await opts.onProgress?.({ phase: "mark", deleted: 0 });
  const retained = await retainedVersions(repo, {
    now,
    graceMs,
    trashMs: opts.trashDays * 86_400_000,
    concurrency,
  });
  const refs = await referencesOf(repo, retained.versions, concurrency);
  const listings = await referencedListings(repo, concurrency);
  const dataIds = new Set<string>();
  const packBytes = new Map<string, Map<number, number>>();
  for (const { ref } of refs.uses.values()) {
    if (!ref.pack) dataIds.add(ref.id);
    else {
      let blobs = packBytes.get(ref.pack.id);
      if (!blobs) packBytes.set(ref.pack.id, blobs = new Map());
      blobs.set(ref.pack.offset, ref.pack.length);
    }
  }
  const referenced: Record<SweptKind, (id: string) => boolean> = {
    data: (id) => dataIds.has(id),
    packs: (id) => packBytes.has(id),
    manifests: (id) => refs.manifests.has(id),
    listings: (id) => listings.has(id),
  };

  await opts.onProgress?.({ phase: "sweep", deleted: 0 });
  const report: GcReport = {
    dryRun: opts.dryRun === true,
    versions: retained.versions.length,
    recordsRead: retained.recordsRead,
    snapshot: retained.snapshot,
    swept: {} as Record<SweptKind, SweepCount>,
    partialPacks: 0,
    partialPackWaste: 0,
  };
  const doomed: { kind: SweptKind; object: ObjectInfo }[] = [];
  for (const kind of Object.keys(PREFIXES) as SweptKind[]) {
    const count: SweepCount = { listed: 0, deleted: 0, deletedBytes: 0, keptYoung: 0 };
    report.swept[kind] = count;
    for await (const object of listAll(repo.store, PREFIXES[kind])) {
      const id = /^[^/]+\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(object.key)?.[1];
      if (!id) continue; // not an object this format writes: leave it alone
      count.listed++;
      if (referenced[kind](id)) {
        if (kind === "packs") countPartial(report, object, packBytes.get(id)!);
        continue;
      }
      const modified = object.lastModified?.getTime();
      if (modified === undefined || modified >= cutoff) count.keptYoung++;
      else doomed.push({ kind, object });
    }
  }

  await opts.onProgress?.({ phase: "delete", deleted: 0 });
  const batchSize = opts.batchSize ?? 100;
  for (let i = 0; i < doomed.length; i += batchSize) {
    const batch = doomed.slice(i, i + batchSize);
    if (!report.dryRun) {
      await opts.fence?.();
      await mapLimit(batch, concurrency, ({ object }) => repo.store.delete(object.key));
    }
    for (const { kind, object } of batch) {
      report.swept[kind].deleted++;
      report.swept[kind].deletedBytes += object.size;
    }
    await opts.onProgress?.({ phase: "delete", deleted: i + batch.length });
  }
  return report;
}

function countPartial(report: GcReport, pack: ObjectInfo, blobs: Map<number, number>): void {
  let used = 0;
  for (const length of blobs.values()) used += length;
  if (used > pack.size) {
    throw new MaintenanceAbortedError(
      `${pack.key}: manifests place ${used} bytes in a pack of ${pack.size}; ` +
        "nothing was deleted: run scrub to find the damaged versions",
    );
  }
  if (used < pack.size) {
    report.partialPacks++;
    report.partialPackWaste += pack.size - used;
  }
}
