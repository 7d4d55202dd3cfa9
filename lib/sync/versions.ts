/**
 * Conversions between namespace versions, new versions to commit and local
 * state entries, shared by the sync steps.
 *
 * @module
 */

import type { NewVersion, PathVersion } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import type { LocalEntry } from "./scan.ts";

/** The state entry recording that `v` is what is on disk (as `local` shows it). */
export function entryFrom(
  v: PathVersion,
  local: LocalEntry | null,
  hydration: SyncedEntry["hydration"],
  oid?: string,
): SyncedEntry {
  return {
    kind: v.kind,
    size: v.size,
    mtime: local?.mtime ?? v.mtime,
    mode: v.mode,
    ino: local?.ino ?? 0,
    ctime: local?.ctime ?? 0,
    ...(v.manifestId ? { manifestId: v.manifestId } : {}),
    ...(oid ? { oid } : {}),
    ...(v.target !== undefined ? { target: v.target } : {}),
    vv: v.vv,
    hydration,
    syncedAt: Date.now(),
  };
}

/** A new version with the same content and metadata as `v`, at `path`. */
export function copyVersion(v: PathVersion, path: string = v.path): NewVersion {
  return {
    path,
    deleted: false,
    kind: v.kind,
    mode: v.mode,
    mtime: v.mtime,
    size: v.size,
    ...(v.target !== undefined ? { target: v.target } : {}),
    ...(v.manifestId ? { manifestId: v.manifestId, manifest: v.manifest } : {}),
  };
}
