/**
 * Carrying out a planned sync round. Local writes go through
 * {@link local_fs}, so they are atomic and never clobber a file that changed
 * after the scan. New versions are collected and committed as one record
 * after every chunk they reference is durable; local state is written only
 * after that commit, so state never claims a version the repository lacks.
 *
 * @module
 */

import { type ChunkSource, type ProgressTracker, type StoredFile } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import { DIR_STUB_SUFFIX, FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { Namespace, NewVersion, PathVersion, Repository, VersionVector } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import { type Action, sameContent } from "./plan.ts";
import { download, expectedOf, keepCopies } from "./materialize.ts";
import { copyVersion, entryFrom } from "./versions.ts";
import { assertUnchanged, removeLocal } from "./local_fs.ts";
import { remotePathOf, type SyncRoot } from "./roots.ts";
import type { LocalEntry } from "./scan.ts";

/** What {@link applyActions} needs. */
export interface ApplyContext {
  /** Repository. */
  repo: Repository;
  /** Merged namespace (updated by the commit). */
  ns: Namespace;
  /** The root being synced. */
  root: SyncRoot;
  /** This device. */
  device: string;
  /** Upload one local file's content (chunks durable only after `flush`). */
  storeFile(path: string, local: LocalEntry): Promise<StoredFile>;
  /** Make every stored chunk durable. */
  flush(): Promise<void>;
  /** Chunk reader for downloads. */
  source: ChunkSource;
  /** Chunk downloads in flight per file. */
  concurrency: number;
  /** Progress. */
  progress: ProgressTracker;
}

/** The outcome of a round: state changes and counts. */
export interface ApplyResult {
  /** State entries to write (null: forget). */
  state: [string, SyncedEntry | null][];
  /** The versions this round committed (none: nothing was committed). */
  committed: PathVersion[];
  /** Counters. */
  counts: {
    uploaded: number;
    downloaded: number;
    stubs: number;
    deletedLocal: number;
    deletedRemote: number;
    renamed: number;
  };
  /** Per-path failures. */
  errors: { path: string; error: string }[];
}

/** A version to commit at the end of the round, and the state entry it leads to. */
export interface Pending {
  /** The version. */
  version: NewVersion;
  /** Supersede only what this vector has seen (default: every version the namespace knows). */
  base?: VersionVector;
  /** The state entry for the committed version (null: forget the path). */
  then: (committed: PathVersion) => SyncedEntry | null;
}

/** Run `actions`; see the module documentation. */
export async function applyActions(ctx: ApplyContext, actions: Action[]): Promise<ApplyResult> {
  const result: ApplyResult = {
    state: [],
    committed: [],
    counts: { uploaded: 0, downloaded: 0, stubs: 0, deletedLocal: 0, deletedRemote: 0, renamed: 0 },
    errors: [],
  };
  const pending: Pending[] = [];
  const localDeletes: Extract<Action, { op: "delete-local" }>[] = [];
  for (const action of actions) {
    try {
      if (action.op === "delete-local") localDeletes.push(action);
      else await applyOne(ctx, action, pending, result);
    } catch (err) {
      if (!(err instanceof TcfsError)) throw err;
      result.errors.push({ path: action.rel, error: err.message });
    }
  }
  // Children before parents, so directories are empty when their turn comes.
  for (const action of localDeletes.reverse()) {
    try {
      const path = `${ctx.root.local}/${action.rel}`;
      const stubPath = stubPathOf(path, action.base);
      if (stubPath) await removeLocal(stubPath);
      else {
        if (action.base.kind !== "dir") {
          await assertUnchanged(path, await expectedOf(path, action.base));
        }
        await removeLocal(path);
      }
      result.state.push([action.rel, null]);
      result.counts.deletedLocal++;
    } catch (err) {
      if (!(err instanceof TcfsError)) throw err;
      result.errors.push({ path: action.rel, error: err.message });
    }
  }
  if (pending.length > 0) {
    await ctx.flush();
    const record = await ctx.repo.commit(
      ctx.device,
      ctx.ns,
      pending.map((p) => ({ ...p.version, ...(p.base ? { base: p.base } : {}) })),
    );
    result.committed = record.versions;
    record.versions.forEach((v, i) =>
      result.state.push([relOf(ctx.root, v.path), pending[i].then(v)])
    );
  }
  return result;
}

function relOf(root: SyncRoot, path: string): string {
  return root.remote === "/" ? path.slice(1) : path.slice(root.remote.length + 1);
}

/** The stub file standing for a stub entry, or null if the entry is hydrated. */
function stubPathOf(path: string, base: SyncedEntry | undefined): string | null {
  if (base?.hydration !== "stub") return null;
  return path + (base.kind === "dir" ? DIR_STUB_SUFFIX : FILE_STUB_SUFFIX);
}

async function applyOne(
  ctx: ApplyContext,
  action: Action,
  pending: Pending[],
  result: ApplyResult,
) {
  const path = `${ctx.root.local}/${action.rel}`;
  const remote = remotePathOf(ctx.root, action.rel);
  switch (action.op) {
    case "upload":
      return await upload(ctx, action, path, remote, pending, result);
    case "rename": {
      const old = ctx.ns.heads(remotePathOf(ctx.root, action.from))
        .find((h) => h.manifestId === action.base.manifestId && !h.deleted);
      if (!old) {
        // The old version is gone remotely: upload the new name like any new file.
        return await upload(
          ctx,
          { op: "upload", rel: action.rel, local: action.local, copies: [] },
          path,
          remote,
          pending,
          result,
        );
      }
      pending.push(tombstone(ctx, action.from, action.base, action.supersedes));
      const hydration = action.base.hydration;
      pending.push({
        version: {
          ...copyVersion(old),
          path: remote,
          mode: action.local.mode,
          mtime: action.local.mtime,
        },
        then: (v) => entryFrom(v, action.local, hydration, action.base.oid),
      });
      result.counts.renamed++;
      return;
    }
    case "tombstone":
      pending.push(tombstone(ctx, action.rel, action.base, action.supersedes));
      result.counts.deletedRemote++;
      return;
    case "forget":
      result.state.push([action.rel, null]);
      return;
    case "download": {
      // Copies first: until the winner is committed they are what keeps the other versions.
      await keepCopies(ctx, action.rel, action.copies, pending, result);
      const entry = await download(ctx, action, path, result);
      if (action.copies.length > 0) {
        // Re-commit the winner so it supersedes the versions now kept as copies.
        pending.push({
          version: copyVersion(action.version, remote),
          then: (v) => ({ ...entry, vv: v.vv }),
        });
      } else result.state.push([action.rel, entry]);
      return;
    }
  }
}

/** A tombstone keeping the deleted content (the trash). */
function tombstone(
  ctx: ApplyContext,
  rel: string,
  base: SyncedEntry,
  supersedes: VersionVector,
): Pending {
  const remote = remotePathOf(ctx.root, rel);
  const old = ctx.ns.heads(remote).find((h) => h.manifestId === base.manifestId && !h.deleted);
  const version: NewVersion = {
    path: remote,
    deleted: true,
    kind: base.kind,
    mode: base.mode,
    mtime: base.mtime,
    size: base.size,
    ...(old?.manifestId ? { manifestId: old.manifestId, manifest: old.manifest } : {}),
  };
  // Supersedes only what this device deleted: edits made elsewhere stay alive.
  return { version, base: supersedes, then: () => null };
}

async function upload(
  ctx: ApplyContext,
  action: Extract<Action, { op: "upload" }>,
  path: string,
  remote: string,
  pending: Pending[],
  result: ApplyResult,
): Promise<void> {
  const loc = action.local;
  const version: NewVersion = {
    path: remote,
    deleted: false,
    kind: loc.kind,
    mode: loc.mode,
    mtime: loc.mtime,
    size: loc.size,
  };
  let oid: string | undefined;
  if (loc.kind === "symlink") version.target = loc.target;
  if (loc.kind === "file") {
    const stored = await ctx.storeFile(path, loc);
    Object.assign(version, {
      manifestId: stored.manifestId,
      manifest: stored.manifest,
      size: stored.size,
    });
    oid = stored.oid;
  }
  const base = action.base;
  const unchanged = base && sameContent(base, version) && base.mode === loc.mode;
  const winner = ctx.ns.get(remote);
  if (unchanged && (action.copies.length > 0 || !winner || !sameContent(winner, base))) {
    // Only the inode or ctime moved, while there is news remotely: the content is still the
    // base, so this is no edit. Record the new stat; the next round takes the news.
    result.state.push([action.rel, { ...base, mtime: loc.mtime, ino: loc.ino, ctime: loc.ctime }]);
    return;
  }
  const copies = action.copies.filter((c) => !sameContent(c, version));
  const hydration = base?.hydration === "pinned" ? "pinned" : "hydrated";
  if (copies.length === 0 && winner && sameContent(winner, version) && winner.mode === loc.mode) {
    // Unchanged content, or every other device made the same edit: nothing to commit.
    result.state.push([action.rel, {
      ...entryFrom(winner, loc, hydration, oid ?? base?.oid),
      vv: ctx.ns.seen(remote),
    }]);
    return;
  }
  // The local version supersedes every version seen; other content is kept beside it.
  await keepCopies(ctx, action.rel, copies, pending, result);
  pending.push({ version, then: (v) => entryFrom(v, loc, hydration, oid) });
  result.counts.uploaded++;
}
