/**
 * Scrub: read every chunk the namespace references (or a random sample)
 * and check that it opens, decompresses to its size and hashes to its id.
 * Damage is reported, never repaired: the report names the object, the
 * chunk and the files that lose data, so the files can be pushed again from
 * a device that still has them.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import { manifestKey } from "../repo/layout.ts";
import type { PathVersion, Repository } from "../repo/mod.ts";
import { mapLimit } from "../storage/mod.ts";
import { type ChunkUse, locationOf, referencesOf } from "./mark.ts";

/** Options of {@link scrubRepository}. */
export interface ScrubOptions {
  /** Chunks read at once (default 8). */
  concurrency?: number;
  /** Fraction of the chunks to check, in (0, 1] (default 1: all). */
  sample?: number;
  /** Told after each chunk; awaited (a worker heartbeats here). */
  onProgress?: (p: ScrubProgress) => void | Promise<void>;
  /**
   * How long deleted files stay restorable, in days (`sync.trash_days`).
   * Deleted files older than this are not verified: garbage collection may
   * have swept their content, which is not damage. Default: verify them all.
   */
  trashDays?: number;
  /** The time the run starts (default now); ages are measured from it. */
  now?: number;
}

/** How far a scrub is. */
export interface ScrubProgress {
  /** Chunks checked so far. */
  checked: number;
  /** Chunks to check in this run. */
  total: number;
  /** Damaged chunks and manifests found so far. */
  damaged: number;
  /** Plaintext bytes verified so far. */
  bytes: number;
}

/** One damaged object. */
export interface Damage {
  /** The object that failed: `data/..`, `packs/..` or `manifests/..`. */
  key: string;
  /** The chunk that failed (absent for a manifest). */
  chunkId?: string;
  /** Remote paths of the versions that reference it. */
  paths: string[];
  /** What is wrong. */
  error: string;
}

/** What a scrub found. */
export interface ScrubReport {
  /** Chunk locations the namespace references. */
  referenced: number;
  /** Chunks checked (all of them unless sampled). */
  checked: number;
  /** Plaintext bytes verified. */
  bytes: number;
  /** Everything that failed verification. */
  damaged: Damage[];
}

/**
 * Verify the chunks of every head version (live files, conflict versions
 * and deleted files whose content the trash keeps, see `trashDays`). Errors other than
 * failed verification or missing objects (e.g. the store being down) are
 * thrown, so a worker retries the task rather than reporting false damage.
 */
export async function scrubRepository(
  repo: Repository,
  opts: ScrubOptions = {},
): Promise<ScrubReport> {
  const sample = opts.sample ?? 1;
  if (!(sample > 0 && sample <= 1)) {
    throw new RangeError(`scrub sample fraction ${sample} is not in (0, 1]`);
  }
  const ns = await repo.refresh();
  const versions: PathVersion[] = [];
  const trashCutoff = opts.trashDays === undefined
    ? -Infinity
    : (opts.now ?? Date.now()) - opts.trashDays * 86_400_000;
  for (const path of ns.allPaths()) {
    for (const v of ns.heads(path)) if (!v.deleted || v.time >= trashCutoff) versions.push(v);
  }
  const damaged: Damage[] = [];
  const refs = await referencesOf(repo, versions, opts.concurrency ?? 8, (v, err) => {
    damaged.push({
      key: manifestKey(v.manifestId!),
      paths: [v.path],
      error: (err as Error).message,
    });
  });
  const uses = [...refs.uses.values()].filter(() => sample === 1 || Math.random() < sample);
  const progress: ScrubProgress = { checked: 0, total: uses.length, damaged: 0, bytes: 0 };
  progress.damaged = damaged.length;
  await mapLimit(uses, opts.concurrency ?? 8, async (use: ChunkUse) => {
    try {
      const plain = await repo.readChunk(use.ref);
      progress.bytes += plain.length;
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      damaged.push({
        key: locationOf(use.ref).split("@")[0],
        chunkId: use.ref.id,
        paths: [...use.paths].sort(),
        error: err.message,
      });
      progress.damaged = damaged.length;
    }
    progress.checked++;
    await opts.onProgress?.({ ...progress });
  });
  return {
    referenced: refs.uses.size,
    checked: progress.checked,
    bytes: progress.bytes,
    damaged,
  };
}
