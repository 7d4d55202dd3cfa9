/**
 * Open conflicts, derived from the namespace: a path is in conflict while a
 * conflict copy of it (a live file whose version is marked `conflictOf` that
 * path) exists. Every device reads the same records, so every device lists
 * the same conflicts; the local state keeps them for `tcfs status` and
 * `tcfs conflicts`, which do not read the repository.
 *
 * @module
 */

import type { PathVersion } from "../repo/mod.ts";
import type { ConflictEntry, StateStore } from "../state/mod.ts";

/**
 * Bring the conflicts of root `key` in `state` in step with `copies` (the
 * live conflict copies under the root), given the conflicts recorded before.
 * `relOf` turns a remote path into a root-relative one.
 */
export async function recordConflicts(
  state: StateStore,
  key: string,
  copies: Iterable<PathVersion>,
  before: ConflictEntry[],
  relOf: (remote: string) => string,
): Promise<void> {
  const open = new Map<string, ConflictEntry["copies"]>();
  for (const v of copies) {
    const main = relOf(v.conflictOf!);
    const list = open.get(main) ?? [];
    list.push({
      path: relOf(v.path),
      device: v.device,
      ...(v.manifestId ? { manifestId: v.manifestId } : {}),
      time: v.time,
      size: v.size,
      mtime: v.mtime,
    });
    open.set(main, list);
  }
  const known = new Map(before.map((c) => [c.path, c]));
  for (const c of before) if (!open.has(c.path)) await state.deleteConflict(key, c.path);
  for (const [path, list] of open) {
    list.sort((a, b) => b.time - a.time);
    const old = known.get(path);
    const same = old && old.copies.length === list.length &&
      old.copies.every((c, i) => c.path === list[i].path && c.manifestId === list[i].manifestId);
    if (same) continue;
    await state.putConflict({
      root: key,
      path,
      copies: list,
      detectedAt: old?.detectedAt ?? Date.now(),
    });
  }
}
