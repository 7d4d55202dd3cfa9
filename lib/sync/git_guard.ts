/**
 * Keeping sync away from git repositories while git works in them.
 *
 * Copying a `.git` directory halfway through a git operation (an index being
 * rewritten, a rebase between two commits, a merge waiting for its conflicts)
 * yields a repository that the other side cannot use, and writing into one
 * corrupts it. The sync engine asks {@link gitBusy} before it touches a
 * directory that holds a `.git`, and defers the whole directory while git is
 * busy there.
 *
 * What counts as busy, and where it was taken from:
 *
 * - Lock files. Git updates a file by writing `<file>.lock` and renaming it
 *   over the file (git's lockfile API, `lockfile.h`); the lock exists for as
 *   long as the update runs, and a stale one makes git itself refuse to work
 *   until it is removed. Checked: every `*.lock` directly in the git
 *   directory (`index.lock`, `HEAD.lock`, `config.lock`, `packed-refs.lock`,
 *   `shallow.lock`, `ORIG_HEAD.lock`, ...) and any `*.lock` below `refs/`.
 * - Operations in progress, as `git status` detects them (wt_status_get_state
 *   in git's `wt-status.c`): `MERGE_HEAD` (merge), `rebase-apply/` (rebase, or
 *   `git am` when `rebase-apply/applying` exists), `rebase-merge/` (rebase),
 *   `CHERRY_PICK_HEAD`, `REVERT_HEAD`, `BISECT_LOG`; plus `sequencer/`, where
 *   a multi-commit cherry-pick or revert keeps its to-do list (`sequencer.c`).
 * - `gc.pid`, which `git gc` holds while it repacks (`builtin/gc.c`); git
 *   treats one older than 12 hours as left over from a crash, and so do we.
 *
 * Layout (gitrepository-layout(5)): a `.git` file holding `gitdir: <path>`
 * (linked worktrees, submodules, `--separate-git-dir`) is followed; a gitdir
 * with a `commondir` file shares refs, config and packs with that directory,
 * whose shared locks are checked too; a repository's `worktrees/<id>/` and
 * `modules/<name>/` hold the git directories of its linked worktrees and
 * submodules, which are checked as well because they are copied with it.
 *
 * Objects are not inspected: git writes loose objects and packs under
 * temporary names and renames them into place, so a copy never sees half of
 * one. The cost is one directory listing per git directory (plus a listing of
 * `refs/`, small in a packed repository); nothing is read unless present.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { TcfsError } from "../errors.ts";

/** Why a git directory must not be synced now. */
export interface GitBusy {
  /** The git directory where the lock or operation was found. */
  gitDir: string;
  /** What git is doing, such as "index.lock present" or "rebase in progress". */
  reason: string;
}

/** Operations in progress, by the entry that marks them, in `git status` order. */
const IN_PROGRESS: [name: string, reason: string][] = [
  ["MERGE_HEAD", "merge in progress"],
  ["rebase-apply", "rebase in progress"],
  ["rebase-merge", "rebase in progress"],
  ["CHERRY_PICK_HEAD", "cherry-pick in progress"],
  ["BISECT_LOG", "bisect in progress"],
  ["REVERT_HEAD", "revert in progress"],
  ["sequencer", "cherry-pick or revert sequence in progress"],
];

/** Locks in a common directory that every worktree shares. */
const SHARED_LOCKS = new Set(["config.lock", "packed-refs.lock", "shallow.lock"]);

/** Age after which git considers `gc.pid` stale (builtin/gc.c). */
const GC_PID_STALE_MS = 12 * 3600 * 1000;

/** Nesting allowed for submodule names with slashes (`modules/a/b/...`). */
const MAX_MODULE_DEPTH = 8;

/** If `dir` (absolute) contains a `.git` directory (or a `.git` file pointing to a gitdir) that is busy, say why; else null. */
export async function gitBusy(dir: string): Promise<GitBusy | null> {
  const dotGit = `${dir}/.git`;
  const info = await inspect(() => Deno.stat(dotGit), dotGit);
  if (info === null) return null;
  if (info.isDirectory) return await gitDirBusy(dotGit);
  if (!info.isFile) return null;
  const gitDir = await readPathFile(dotGit, dir, "gitdir: ");
  return gitDir === null ? null : await gitDirBusy(gitDir);
}

/**
 * Whether the git directory `gitDir` itself (a `.git` directory, the target
 * of a `.git` file, or a bare repository) is busy; null when it is not, or is
 * not there.
 */
export async function gitDirBusy(gitDir: string): Promise<GitBusy | null> {
  return await checkGitDir(gitDir, 0);
}

async function checkGitDir(gitDir: string, depth: number): Promise<GitBusy | null> {
  const names = await list(gitDir);
  if (names === null) return null;
  const own = await ownBusy(gitDir, names);
  if (own !== null) return own;
  if (names.has("commondir")) {
    const common = await readPathFile(`${gitDir}/commondir`, gitDir, "");
    const shared = common === null ? null : await list(common);
    if (common !== null && shared !== null) {
      const lock = [...shared].filter((n) => SHARED_LOCKS.has(n)).sort()[0];
      if (lock !== undefined) return { gitDir: common, reason: `${lock} present` };
      const ref = shared.has("refs") ? await refLock(common) : null;
      if (ref !== null) return { gitDir: common, reason: `${ref} present` };
    }
  }
  if (names.has("worktrees")) {
    for (const id of await subdirs(`${gitDir}/worktrees`)) {
      const wt = `${gitDir}/worktrees/${id}`;
      const wtNames = await list(wt);
      const busy = wtNames === null ? null : await ownBusy(wt, wtNames);
      if (busy !== null) return { gitDir: wt, reason: `worktree "${id}": ${busy.reason}` };
    }
  }
  if (names.has("modules") && depth < MAX_MODULE_DEPTH) {
    const busy = await modulesBusy(`${gitDir}/modules`, "", depth);
    if (busy !== null) return busy;
  }
  return null;
}

/** Locks, operations and ref locks of one git directory, its worktrees and submodules aside. */
async function ownBusy(gitDir: string, names: Set<string>): Promise<GitBusy | null> {
  const lock = [...names].filter((n) => n.endsWith(".lock")).sort()[0];
  if (lock !== undefined) return { gitDir, reason: `${lock} present` };
  for (const [marker, reason] of IN_PROGRESS) {
    if (!names.has(marker)) continue;
    if (marker === "rebase-apply" && await exists(`${gitDir}/rebase-apply/applying`)) {
      return { gitDir, reason: "am in progress" };
    }
    return { gitDir, reason };
  }
  if (names.has("gc.pid")) {
    const info = await inspect(() => Deno.stat(`${gitDir}/gc.pid`), `${gitDir}/gc.pid`);
    const age = Date.now() - (info?.mtime?.getTime() ?? 0);
    if (info !== null && age < GC_PID_STALE_MS) return { gitDir, reason: "gc running" };
  }
  const ref = names.has("refs") ? await refLock(gitDir) : null;
  return ref === null ? null : { gitDir, reason: `${ref} present` };
}

/** The first `*.lock` below `<gitDir>/refs`, as a path relative to gitDir. */
async function refLock(gitDir: string, rel = "refs"): Promise<string | null> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(`${gitDir}/${rel}`)) entries.push(e);
  } catch (err) {
    if (isAbsent(err)) return null;
    throw unreadable(`${gitDir}/${rel}`, err);
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const e of entries) {
    if (e.isFile && e.name.endsWith(".lock")) return `${rel}/${e.name}`;
  }
  for (const e of entries) {
    if (!e.isDirectory) continue;
    const found = await refLock(gitDir, `${rel}/${e.name}`);
    if (found !== null) return found;
  }
  return null;
}

/** Submodule git directories below `modules/`, whose names may contain slashes. */
async function modulesBusy(dir: string, prefix: string, depth: number): Promise<GitBusy | null> {
  for (const name of await subdirs(dir)) {
    const path = `${dir}/${name}`;
    const names = await list(path);
    if (names === null) continue;
    const module = prefix + name;
    if (names.has("HEAD")) {
      const busy = await checkGitDir(path, depth + 1);
      if (busy !== null) {
        return { gitDir: busy.gitDir, reason: `submodule "${module}": ${busy.reason}` };
      }
    } else if (depth + 1 < MAX_MODULE_DEPTH) {
      const busy = await modulesBusy(path, `${module}/`, depth + 1);
      if (busy !== null) return busy;
    }
  }
  return null;
}

/** Read a file holding one path (`.git` file, `commondir`), resolved against `base`. */
async function readPathFile(file: string, base: string, prefix: string): Promise<string | null> {
  const text = await inspect(() => Deno.readTextFile(file), file);
  if (text === null || !text.startsWith(prefix)) return null;
  const path = text.slice(prefix.length).replace(/[\r\n]+$/, "");
  if (path === "") return null;
  return isAbsolute(path) ? path : resolve(base, path);
}

/** Names in a directory, or null when it is not there. */
async function list(dir: string): Promise<Set<string> | null> {
  const names = new Set<string>();
  try {
    for await (const e of Deno.readDir(dir)) names.add(e.name);
  } catch (err) {
    if (isAbsent(err)) return null;
    throw unreadable(dir, err);
  }
  return names;
}

/** Subdirectory names (symlinks not followed), sorted. */
async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(e.name);
  } catch (err) {
    if (isAbsent(err)) return [];
    throw unreadable(dir, err);
  }
  return out.sort();
}

async function exists(path: string): Promise<boolean> {
  return await inspect(() => Deno.lstat(path), path) !== null;
}

/** Run a file system call; null when the path is not there. */
async function inspect<T>(op: () => Promise<T>, path: string): Promise<T | null> {
  try {
    return await op();
  } catch (err) {
    if (isAbsent(err)) return null;
    throw unreadable(path, err);
  }
}

function isAbsent(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory;
}

function unreadable(path: string, err: unknown): TcfsError {
  return new TcfsError(
    `${path}: cannot check whether git is busy there: ${(err as Error).message}`,
    { cause: err },
  );
}
