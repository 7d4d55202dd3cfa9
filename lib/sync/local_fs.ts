/**
 * Local file operations of a sync round, each atomic and each refusing to
 * touch a file that changed since the scan: content is written to a temp
 * name in the same directory and renamed into place, and deletions re-check
 * the file first. A sync racing a user's edit therefore never loses it.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import type { LocalEntry } from "./scan.ts";
import { localEntryOf } from "./scan.ts";

/** Prefix of temp files (ignored by scans, cleaned up by the next round). */
export const TEMP_PREFIX = ".tcfs-tmp-";

/** A temp path beside `path`. */
export function tempBeside(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}${TEMP_PREFIX}${crypto.randomUUID().slice(0, 8)}-${
    path.slice(slash + 1).slice(0, 64)
  }`;
}

/** lstat as a {@link LocalEntry}, or null if absent. */
export async function statLocal(path: string): Promise<LocalEntry | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  return localEntryOf(info, info.isSymlink ? await Deno.readLink(path) : undefined);
}

/** Throw unless the file at `path` is still as the scan saw it (or absent, if `expected` is null). */
export async function assertUnchanged(path: string, expected: LocalEntry | null): Promise<void> {
  const now = await statLocal(path);
  const same = now === null
    ? expected === null
    : expected !== null && now.kind === expected.kind && now.size === expected.size &&
      now.mtime === expected.mtime && now.ino === expected.ino && now.ctime === expected.ctime;
  if (!same) throw new TcfsError(`${path} changed during the sync; it is left for the next round`);
}

/** Write `text` at `path` atomically. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = tempBeside(path);
  await Deno.writeTextFile(tmp, text, { mode: 0o644 });
  await Deno.rename(tmp, path);
}

/** Remove a file or symlink, or an empty directory (a directory with other content stays). */
export async function removeLocal(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    // A non-empty directory keeps what the sync does not own (ignored files).
    if ((await statLocal(path))?.kind === "dir") return;
    throw err;
  }
}
