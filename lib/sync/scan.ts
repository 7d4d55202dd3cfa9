/**
 * Scanning a sync root: every local file, directory and symlink with the
 * metadata that tells whether it changed since the last sync (size, mtime,
 * mode, inode, ctime) — without reading any content. Ignored paths and live
 * git repositories are reported and left out, so the planner neither uploads
 * them nor mistakes their absence for a deletion.
 *
 * @module
 */

import { gitBusy } from "./git_guard.ts";
import { IgnoreRules, loadIgnoreFile } from "./ignore.ts";

/** What the scan saw of one local path. */
export interface LocalEntry {
  /** Kind of entry. */
  kind: "file" | "dir" | "symlink";
  /** Size in bytes (files), target length (symlinks). */
  size: number;
  /** Modification time, ms. */
  mtime: number;
  /** Permission bits. */
  mode: number;
  /** Inode number. */
  ino: number;
  /** Change time, ms. */
  ctime: number;
  /** Symlink target. */
  target?: string;
}

/** The result of {@link scanRoot}. */
export interface ScanResult {
  /** Entries by path relative to the root (`/`-separated). */
  entries: Map<string, LocalEntry>;
  /** Paths skipped by ignore rules (directories count once). */
  ignored: string[];
  /** Directories left alone this round (a git operation in progress), with why. */
  deferred: { rel: string; reason: string }[];
  /** Special files (sockets, FIFOs, devices) that cannot be synced. */
  unsupported: string[];
  /** The ignore rules in force (config and every `.tcfsignore` seen), for remote paths too. */
  rules: IgnoreRules;
}

/** Options of {@link scanRoot}. */
export interface ScanOptions {
  /** Patterns from the config, in gitignore syntax. */
  ignore: string[];
  /** Relative directories not to descend into (directory stubs). */
  skipDirs?: Set<string>;
}

/** The local entry for a lstat result, or null for special files. */
export function localEntryOf(info: Deno.FileInfo, target?: string): LocalEntry | null {
  const kind = info.isSymlink ? "symlink" : info.isDirectory ? "dir" : info.isFile ? "file" : null;
  if (!kind) return null;
  return {
    kind,
    size: kind === "dir" ? 0 : kind === "symlink" ? (target?.length ?? info.size) : info.size,
    mtime: info.mtime?.getTime() ?? 0,
    mode: (info.mode ?? 0) & 0o7777,
    ino: info.ino ?? 0,
    ctime: info.ctime?.getTime() ?? 0,
    ...(target !== undefined ? { target } : {}),
  };
}

/** Walk the root at `local`. */
export async function scanRoot(local: string, opts: ScanOptions): Promise<ScanResult> {
  const rules = new IgnoreRules(opts.ignore);
  const result: ScanResult = {
    entries: new Map(),
    ignored: [],
    deferred: [],
    unsupported: [],
    rules,
  };
  const walk = async (dir: string, rel: string): Promise<void> => {
    await loadIgnoreFile(rules, local, rel);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    names.sort();
    if (names.includes(".git")) {
      const busy = await gitBusy(dir);
      if (busy) {
        result.deferred.push({ rel, reason: busy.reason });
        return;
      }
    }
    // Synchronous lstat: measured here 3x faster than the async call, concurrent or not
    // (0.3 s against 1 s for 100,000 files). The event loop gets a turn between directories.
    const infos = names.map((name) => {
      const path = `${dir}/${name}`;
      try {
        const info = Deno.lstatSync(path);
        return { info, target: info.isSymlink ? Deno.readLinkSync(path) : undefined };
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return null; // removed while scanning
        throw err;
      }
    });
    const subdirs: [string, string][] = [];
    names.forEach((name, i) => {
      const found = infos[i];
      if (!found) return;
      const childRel = rel === "" ? name : `${rel}/${name}`;
      if (rules.ignores(childRel, found.info.isDirectory)) {
        result.ignored.push(childRel);
        return;
      }
      const entry = localEntryOf(found.info, found.target);
      if (!entry) {
        result.unsupported.push(childRel);
        return;
      }
      result.entries.set(childRel, entry);
      if (entry.kind === "dir" && !opts.skipDirs?.has(childRel)) {
        subdirs.push([`${dir}/${name}`, childRel]);
      }
    });
    for (const [path, childRel] of subdirs) await walk(path, childRel);
  };
  await walk(local, "");
  return result;
}
