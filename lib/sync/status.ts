/**
 * The status of a root from local state and a metadata-only scan (no
 * repository access): per path synced, modified, stub, pinned, conflict or
 * pending, and totals.
 *
 * @module
 */

import { DIR_STUB_SUFFIX, FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { StateStore, SyncedEntry } from "../state/mod.ts";
import { TEMP_PREFIX } from "./local_fs.ts";
import { localDiffers } from "./plan.ts";
import { rootKey, type SyncRoot } from "./roots.ts";
import { type ScanResult, scanRoot } from "./scan.ts";

/** Status of one path. */
export type PathStatus =
  | "synced"
  | "modified"
  | "stub"
  | "pinned"
  | "conflict"
  | "pending"
  | "deleted";

/** Status of a root. */
export interface RootStatus {
  /** Local directory. */
  root: string;
  /** Remote directory. */
  remote: string;
  /** Count per status, and ignored paths. */
  totals: Record<PathStatus | "ignored", number>;
  /** Paths whose status is not `synced` (all paths with `all`). */
  paths: { path: string; status: PathStatus; kind: SyncedEntry["kind"] }[];
}

/** Compute the status of `root`, optionally only under `prefix`. */
export async function rootStatus(
  state: StateStore,
  root: SyncRoot,
  opts: { ignore: string[]; prefix?: string; all?: boolean },
): Promise<RootStatus> {
  const key = rootKey(root);
  // The state is listed on a worker thread while this one scans the disk: each takes about
  // half of the time on a large root. Directory stubs are known only from the state, so the
  // scan cannot skip them; what it found inside one is dropped below.
  const listing = state.entryStates(key);
  listing.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
  let scan: ScanResult;
  try {
    scan = await scanRoot(root.local, { ignore: opts.ignore });
  } finally {
    await listing.catch(() => {});
  }
  const bases = await listing;
  const conflictList = await state.listConflicts(key);
  const conflicts = new Set(conflictList.map((c) => c.path));
  const copies = new Set(
    conflictList.flatMap((c) => c.copies.map((x) => x.path)),
  );
  const stubDirs = new Set(
    [...bases].filter(([, e]) => e.kind === "dir" && e.hydration === "stub").map(([r]) => r),
  );
  const inStubDir = (rel: string) => {
    for (let i = rel.lastIndexOf("/"); i > 0; i = rel.lastIndexOf("/", i - 1)) {
      if (stubDirs.has(rel.slice(0, i))) return true;
    }
    return false;
  };
  const totals: RootStatus["totals"] = {
    synced: 0,
    modified: 0,
    stub: 0,
    pinned: 0,
    conflict: 0,
    pending: 0,
    deleted: 0,
    ignored: stubDirs.size === 0
      ? scan.ignored.length
      : scan.ignored.filter((rel) => !inStubDir(rel)).length,
  };
  const paths: RootStatus["paths"] = [];
  const inScope = (rel: string) =>
    !opts.prefix || rel === opts.prefix || rel.startsWith(opts.prefix + "/");
  const add = (path: string, status: PathStatus, kind: SyncedEntry["kind"]) => {
    if (!inScope(path)) return;
    totals[status]++;
    if (opts.all || status !== "synced") paths.push({ path, status, kind });
  };
  for (const [rel, e] of bases) {
    if (conflicts.has(rel)) add(rel, "conflict", e.kind);
    else if (e.hydration === "stub") {
      const stub = rel + (e.kind === "dir" ? DIR_STUB_SUFFIX : FILE_STUB_SUFFIX);
      add(rel, scan.entries.has(stub) ? "stub" : "deleted", e.kind);
    } else {
      const loc = scan.entries.get(rel);
      if (!loc) add(rel, "deleted", e.kind);
      else if (localDiffers(e, loc)) add(rel, "modified", e.kind);
      else add(rel, e.hydration === "pinned" ? "pinned" : "synced", e.kind);
    }
  }
  for (const [rel, loc] of scan.entries) {
    if (bases.has(rel) || copies.has(rel)) continue;
    if (stubDirs.size > 0 && inStubDir(rel)) continue;
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    if (name.startsWith(TEMP_PREFIX)) continue;
    const stubOf = rel.endsWith(DIR_STUB_SUFFIX)
      ? rel.slice(0, -DIR_STUB_SUFFIX.length)
      : rel.endsWith(FILE_STUB_SUFFIX)
      ? rel.slice(0, -FILE_STUB_SUFFIX.length)
      : null;
    if (stubOf !== null && bases.get(stubOf)?.hydration === "stub") continue;
    add(rel, "pending", loc.kind);
  }
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root: root.local, remote: root.remote, totals, paths };
}
