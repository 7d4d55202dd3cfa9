/**
 * One sync round of a root: bring the namespace up to date (from the local
 * cache plus the commit records written since), scan the local tree, plan
 * with the last synced state as the common base, refuse mass deletions unless
 * forced, apply, commit, and record the new state.
 *
 * @module
 */

import { ChunkSource, type ProgressListener, ProgressTracker, storeFile } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import {
  type ChunkLocation,
  ChunkWriter,
  type Namespace,
  type PathVersion,
  type Repository,
} from "../repo/mod.ts";
import { DIR_STUB_SUFFIX, FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { NamespaceCache, StateStore, SyncedEntry } from "../state/mod.ts";
import { applyActions } from "./apply.ts";
import { recordConflicts } from "./conflicts.ts";
import { TEMP_PREFIX } from "./local_fs.ts";
import { type Action, planSync, type RemoteState } from "./plan.ts";
import { remotePathOf, rootKey, type SyncRoot } from "./roots.ts";
import { scanRoot } from "./scan.ts";

/** Options of {@link syncRoot}. */
export interface SyncOptions {
  /** The root to sync. */
  root: SyncRoot;
  /** This device's id. */
  device: string;
  /** Local state. */
  state: StateStore;
  /** Namespace cache (optional: without it every round reads all records). */
  nsCache?: NamespaceCache;
  /** Transfers in flight. */
  concurrency: number;
  /** New remote files arrive as `.tc` stubs. */
  stubs: boolean;
  /** Ignore patterns from the config. */
  ignore: string[];
  /** Refuse a round that would delete more than this percentage of tracked files. */
  maxDeletePercent: number;
  /** Do it anyway. */
  force: boolean;
  /** Logger. */
  log: Logger;
  /** Progress listener. */
  onProgress?: ProgressListener;
}

/** What a round did. */
export interface SyncSummary {
  /** Files and entries committed from this device. */
  uploaded: number;
  /** Files written locally. */
  downloaded: number;
  /** Stubs written. */
  stubs: number;
  /** Local paths removed because they were deleted elsewhere. */
  deletedLocal: number;
  /** Deletions committed from this device. */
  deletedRemote: number;
  /** Renames committed without re-upload. */
  renamed: number;
  /** Paths in conflict. */
  conflicts: number;
  /** Paths ignored. */
  ignored: number;
  /** Directories left for later (git at work), with why. */
  deferred: { path: string; reason: string }[];
  /** Per-path failures. */
  errors: { path: string; error: string }[];
}

/**
 * Bring a namespace up to date: start from `current` (a long-lived process) or
 * the cache, read newer records, and save the cache if anything changed.
 */
export async function refreshNamespace(
  repo: Repository,
  cache?: NamespaceCache,
  current?: Namespace,
): Promise<Namespace> {
  const cached = current ?? (cache ? await cache.load() : null);
  const before = cached ? cursorsOf(cached) : "";
  const ns = await repo.refresh(cached ?? undefined);
  if (cache && cursorsOf(ns) !== before) await cache.save(ns);
  return ns;
}

function cursorsOf(ns: Namespace): string {
  return ns.devices().sort().map((d) => `${d}:${ns.cursor(d)}`).join(",");
}

/** Run one sync round of `opts.root`. */
export async function syncRoot(repo: Repository, opts: SyncOptions): Promise<SyncSummary> {
  const { root, state } = opts;
  const key = rootKey(root);
  await Deno.mkdir(root.local, { recursive: true });
  const ns = await refreshNamespace(repo, opts.nsCache);

  const bases = new Map<string, SyncedEntry>();
  for await (const [rel, entry] of state.listEntries(key)) bases.set(rel, entry);
  const conflicts = await state.listConflicts(key);
  const stubDirs = new Set(
    [...bases].filter(([, e]) => e.kind === "dir" && e.hydration === "stub").map(([r]) => r),
  );
  const scan = await scanRoot(root.local, { ignore: opts.ignore, skipDirs: stubDirs });

  // Stub files and our temp files are not user content.
  const local = new Map(scan.entries);
  for (const [rel, e] of bases) {
    if (e.hydration !== "stub") continue;
    const stubRel = rel + (e.kind === "dir" ? DIR_STUB_SUFFIX : FILE_STUB_SUFFIX);
    const stub = local.get(stubRel);
    local.delete(stubRel);
    // A present stub stands for the unchanged entry; a removed one means the user deleted it.
    if (stub && !local.has(rel)) {
      local.set(rel, {
        ...stub,
        kind: e.kind,
        size: e.size,
        mtime: e.mtime,
        mode: e.mode,
        ino: e.ino,
        ctime: e.ctime,
      });
    }
  }
  for (const rel of [...local.keys()]) {
    if (rel.slice(rel.lastIndexOf("/") + 1).startsWith(TEMP_PREFIX)) local.delete(rel);
  }

  const remote = new Map<string, RemoteState>();
  const remoteOf = (rel: string) => {
    const path = remotePathOf(root, rel);
    remote.set(rel, { heads: ns.heads(path), winner: ns.get(path) });
  };
  for (const rel of bases.keys()) remoteOf(rel);
  const prefix = root.remote === "/" ? 1 : root.remote.length + 1;
  const relOf = (path: string) => path.slice(prefix);
  // Live conflict copies by remote path: what keeps a conflict open.
  const copies = new Map<string, PathVersion>();
  if (ns.isDir(root.remote)) {
    for (const e of ns.walk(root.remote)) {
      if (e.version?.conflictOf) copies.set(e.path, e.version);
      const rel = relOf(e.path);
      if (!remote.has(rel)) remoteOf(rel);
    }
  }
  const deferred = scan.deferred.map((d) => d.rel);
  const under = (rel: string, dir: string) =>
    dir === "" || rel === dir || rel.startsWith(dir + "/");
  const frozen = (rel: string) =>
    deferred.some((d) => under(rel, d)) ||
    [...stubDirs].some((d) => rel !== d && under(rel, d)) ||
    scan.rules.ignores(
      rel,
      remote.get(rel)?.winner?.kind === "dir" || local.get(rel)?.kind === "dir",
    );

  const actions = planSync({ bases, local, remote, frozen, stubs: opts.stubs });
  guardMassDelete(actions, bases, opts);

  const progress = new ProgressTracker(opts.onProgress);
  const writer = new ChunkWriter(repo.store, repo.codec, {
    known: referencedChunks(ns),
    concurrency: opts.concurrency,
    packThreshold: repo.config.packThreshold,
    packTarget: repo.config.packTarget,
  });
  const result = await applyActions({
    repo,
    ns,
    root,
    device: opts.device,
    storeFile: (path, loc) => storeFile(repo, writer, path, loc, progress),
    flush: () => writer.flush(),
    source: new ChunkSource(repo),
    concurrency: opts.concurrency,
    progress,
  }, actions);
  await writer.flush();
  await state.writeEntries(key, result.state);
  for (const v of result.committed) {
    const now = ns.get(v.path);
    if (now?.conflictOf) copies.set(v.path, now);
    else copies.delete(v.path);
  }
  await recordConflicts(state, key, copies.values(), conflicts, relOf);
  const c = result.counts;
  if (opts.nsCache && result.committed.length > 0) await opts.nsCache.save(ns);
  return {
    uploaded: c.uploaded,
    downloaded: c.downloaded,
    stubs: c.stubs,
    deletedLocal: c.deletedLocal,
    deletedRemote: c.deletedRemote,
    renamed: c.renamed,
    conflicts: (await state.listConflicts(key)).length,
    ignored: scan.ignored.length,
    deferred: scan.deferred.map((d) => ({ path: d.rel, reason: d.reason })),
    errors: result.errors,
  };
}

function guardMassDelete(
  actions: Action[],
  bases: Map<string, SyncedEntry>,
  opts: SyncOptions,
): void {
  if (opts.force) return;
  const tracked = [...bases.values()].filter((e) => e.kind !== "dir").length;
  const deletes =
    actions.filter((a) =>
      (a.op === "delete-local" || a.op === "tombstone") && a.base.kind !== "dir"
    ).length;
  if (deletes >= 10 && deletes * 100 > tracked * opts.maxDeletePercent) {
    throw new TcfsError(
      `this sync would delete ${deletes} of ${tracked} files (more than ` +
        `${opts.maxDeletePercent}%); nothing was changed. Check the folder and the repository, ` +
        `then run again with --force if this is intended`,
    );
  }
}

function referencedChunks(ns: Namespace): Map<string, ChunkLocation> {
  const known = new Map<string, ChunkLocation>();
  ns.addReferencedChunks(known);
  return known;
}
