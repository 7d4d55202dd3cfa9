/**
 * Walking local trees for a push: every directory, file and symlink under a
 * source, with the remote path it maps to. Symlinks are reported, never
 * followed, so a link cannot pull data from outside the tree into a push.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import { joinRemote } from "../repo/mod.ts";

/** A local entry to push. */
export interface LocalEntry {
  /** Local path. */
  local: string;
  /** Remote path it maps to. */
  remote: string;
  /** Its lstat result. */
  info: Deno.FileInfo;
  /** Kind of entry. */
  kind: "file" | "dir" | "symlink";
}

/** The kind of a file from its lstat; `null` for sockets, FIFOs and devices. */
export function kindOf(info: Deno.FileInfo): LocalEntry["kind"] | null {
  if (info.isSymlink) return "symlink";
  if (info.isDirectory) return "dir";
  if (info.isFile) return "file";
  return null;
}

/**
 * Walk `local` (a file, symlink or directory) mapped to `remote`; directories
 * come before their contents, children in name order. Special files are
 * reported through `onSkip`.
 */
export async function* walkLocal(
  local: string,
  remote: string,
  onSkip: (path: string, why: string) => void,
): AsyncGenerator<LocalEntry> {
  let info: Deno.FileInfo;
  try {
    // Synchronous lstat and readdir: one async call per entry costs a round trip through the
    // event loop, which dominated an unchanged re-push (0.5 s of 10,000 serial lstats here).
    info = Deno.lstatSync(local);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new TcfsError(`${local}: no such file or directory`);
    }
    throw new TcfsError(`${local}: ${(err as Error).message}`);
  }
  const kind = kindOf(info);
  if (kind === null) {
    onSkip(local, "not a regular file, directory or symlink");
    return;
  }
  yield { local, remote, info, kind };
  if (kind !== "dir") return;
  const names: string[] = [];
  for (const e of Deno.readDirSync(local)) names.push(e.name);
  names.sort();
  for (const name of names) {
    yield* walkLocal(`${local}/${name}`, joinRemote(remote, name), onSkip);
  }
}
