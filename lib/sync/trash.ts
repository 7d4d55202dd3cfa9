/**
 * The trash: deleted files stay restorable while their tombstone (which
 * keeps the deleted content's manifest) is younger than `sync.trash_days`.
 * Restoring commits the old content again as a new version.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import type { Namespace, PathVersion, Repository } from "../repo/mod.ts";

/** A restorable deleted file. */
export interface TrashItem {
  /** Remote path. */
  path: string;
  /** Size of the deleted content. */
  size: number;
  /** When it was deleted (ms). */
  deletedAt: number;
  /** Which device deleted it. */
  device: string;
}

function restorable(ns: Namespace, path: string, cutoff: number): PathVersion | undefined {
  if (ns.get(path)) return undefined; // still (or again) live
  return ns.heads(path).filter((h) => h.deleted && h.manifestId && h.time >= cutoff)
    .sort((a, b) => b.time - a.time)[0];
}

/** Deleted files under `dir` still within the retention of `days`. */
export function listTrash(ns: Namespace, dir: string, days: number, now = Date.now()): TrashItem[] {
  const cutoff = now - days * 86_400_000;
  const out: TrashItem[] = [];
  for (const path of ns.allPaths()) {
    if (dir !== "/" && path !== dir && !path.startsWith(dir + "/")) continue;
    const t = restorable(ns, path, cutoff);
    if (t) out.push({ path, size: t.size, deletedAt: t.time, device: t.device });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Restore a deleted file: commit its last content again. */
export async function restoreFromTrash(
  repo: Repository,
  ns: Namespace,
  device: string,
  path: string,
  days: number,
): Promise<TrashItem> {
  const t = restorable(ns, path, Date.now() - days * 86_400_000);
  if (!t) {
    throw new TcfsError(
      ns.get(path)
        ? `${path} is not deleted`
        : `${path} is not in the trash (never existed, or deleted more than ${days} days ago)`,
    );
  }
  await repo.commit(device, ns, [{
    path,
    deleted: false,
    kind: t.kind,
    mode: t.mode,
    mtime: t.mtime,
    size: t.size,
    manifestId: t.manifestId,
    manifest: t.manifest,
  }]);
  return { path, size: t.size, deletedAt: t.time, device: t.device };
}
