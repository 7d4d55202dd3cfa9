/**
 * The three-way sync decision. For every path, the last synced version (the
 * base, from local state), what is on disk now and what the namespace holds
 * decide one action. Pure: no I/O, so every rule is unit-tested.
 *
 * Rules (the base is the common ancestor; "news" are the remote versions the
 * base has not seen):
 * - only local changed: upload it, or commit a tombstone if it was deleted;
 * - only remote changed: download it (or a stub), or delete the local copy;
 * - both changed: identical content is simply recorded; an edit beats a
 *   delete on either side; two different edits are a conflict: the local
 *   file stays and the remote version is committed beside it as a conflict
 *   copy, a file of its own;
 * - several concurrent remote versions with different content (writers that
 *   did not see each other): the deterministic winner stays at the path and
 *   the others are committed beside it as conflict copies, on whichever
 *   device sees them first;
 * - a local file that vanished while a new one with the same inode, size and
 *   mtime appeared is a rename: recorded without re-upload.
 *
 * Conflict copies are ordinary namespace files, so nothing but a tombstone
 * (which keeps the content in the trash) ever removes them.
 *
 * @module
 */

import type { PathVersion, VersionVector } from "../repo/mod.ts";
import { compareVectors, mergeVectors } from "../repo/mod.ts";
import type { EntryState, SyncedEntry } from "../state/mod.ts";
import type { LocalEntry } from "./scan.ts";

/** One thing a sync round does. */
export type Action =
  | {
    op: "upload";
    rel: string;
    local: LocalEntry;
    base?: SyncedEntry;
    /**
     * Remote versions the base has not seen; those whose content differs from the local one
     * are committed beside it as conflict copies. The upload supersedes every version seen.
     */
    copies: PathVersion[];
  }
  | {
    op: "rename";
    from: string;
    rel: string;
    local: LocalEntry;
    base: SyncedEntry;
    /** What the deletion of `from` supersedes (see the tombstone action). */
    supersedes: VersionVector;
  }
  | {
    op: "tombstone";
    rel: string;
    base: SyncedEntry;
    /** What the deletion supersedes: the base and remote versions holding the same content. */
    supersedes: VersionVector;
  }
  | {
    op: "download";
    rel: string;
    version: PathVersion;
    stub: boolean;
    base?: SyncedEntry;
    /** Concurrent versions to commit beside it as conflict copies (the winner is re-committed). */
    copies: PathVersion[];
  }
  | { op: "delete-local"; rel: string; base: SyncedEntry }
  | { op: "forget"; rel: string };

/** What the planner needs to know about the remote side of one path. */
export interface RemoteState {
  /** Versions nothing supersedes (several: concurrent writes). */
  heads: PathVersion[];
  /** The one to show, or undefined if the path is deleted or absent. */
  winner?: PathVersion;
}

/** Inputs of {@link planSync}. */
export interface PlanInput {
  /** Last synced state by relative path. */
  bases: Map<string, SyncedEntry>;
  /** The local scan, stub files already taken out. */
  local: Map<string, LocalEntry>;
  /** Remote state by relative path. */
  remote: Map<string, RemoteState>;
  /** Paths (and everything under them) to leave alone this round. */
  frozen: (rel: string) => boolean;
  /** Bring new remote files down as stubs. */
  stubs: boolean;
}

/** Whether the local entry may differ from the base (a re-hash settles "maybe"). */
export function localDiffers(base: EntryState, loc: LocalEntry): boolean {
  if (base.kind !== loc.kind || base.mode !== loc.mode) return true;
  if (loc.kind === "symlink") return base.target !== loc.target;
  if (loc.kind === "dir") return false;
  return base.size !== loc.size || base.mtime !== loc.mtime || base.ino !== loc.ino ||
    base.ctime !== loc.ctime;
}

/** Whether two versions (or a base and a version) hold the same content. */
export function sameContent(
  a: Pick<PathVersion, "kind" | "manifestId" | "target">,
  b: Pick<PathVersion, "kind" | "manifestId" | "target">,
): boolean {
  return a.kind === b.kind && a.manifestId === b.manifestId && a.target === b.target;
}

/** Live versions that can be kept as conflict copies (files and symlinks), one per content. */
function copyable(heads: PathVersion[], except?: PathVersion | SyncedEntry): PathVersion[] {
  const out: PathVersion[] = [];
  for (const h of heads) {
    if (h.deleted || h.kind === "dir" || (except && sameContent(h, except))) continue;
    if (!out.some((o) => sameContent(o, h))) out.push(h);
  }
  return out;
}

/** Decide what to do for every path; parents come before their children. */
export function planSync(input: PlanInput): Action[] {
  const paths = new Set<string>([
    ...input.bases.keys(),
    ...input.local.keys(),
    ...input.remote.keys(),
  ]);
  const actions: Action[] = [];
  // Directories that arrive as stubs this round: their contents stay remote.
  const stubbed: string[] = [];
  for (const rel of [...paths].sort()) {
    if (input.frozen(rel) || stubbed.some((d) => rel.startsWith(d + "/"))) continue;
    const base = input.bases.get(rel);
    const loc = input.local.get(rel);
    const r = input.remote.get(rel) ?? { heads: [] };
    const winner = r.winner;
    const news = base
      ? r.heads.filter((h) => {
        const order = compareVectors(h.vv, base.vv);
        return order !== "equal" && order !== "before";
      })
      : r.heads;
    // Concurrent remote versions with different content, not yet split into copies.
    const conflicted = winner !== undefined && copyable(r.heads, winner).length > 0;
    const lc = base ? (!loc || localDiffers(base, loc)) : loc !== undefined;
    const rc = conflicted || (base ? r.heads.length === 0 || news.length > 0 : !!winner);
    if (!lc && !rc) continue;
    if (!lc) {
      if (winner) pushRemote(actions, stubbed, input, rel, r, base, conflicted);
      else if (base && loc) actions.push({ op: "delete-local", rel, base });
      else if (base) actions.push({ op: "forget", rel });
    } else if (loc) {
      // A local edit beats a remote delete; remote edits it has not seen become copies.
      const copies = copyable(conflicted ? r.heads : news, base);
      actions.push({ op: "upload", rel, local: loc, base, copies });
    } else if (!winner) {
      actions.push({ op: "forget", rel }); // deleted on both sides
    } else {
      // Deleted here. Remote versions with other content are edits that beat the delete.
      const edits = copyable(news, base!);
      const ours = r.heads.filter((h) => h.deleted || sameContent(h, base!));
      const supersedes = mergeVectors(base!.vv, ...ours.map((h) => h.vv));
      if (edits.length === 0 || ours.some((h) => !h.deleted)) {
        // Nothing else, or our version is still live beside the edits (writers that did not
        // see each other): delete just what we had; a later round brings the edits down.
        actions.push({ op: "tombstone", rel, base: base!, supersedes });
      } else pushRemote(actions, stubbed, input, rel, r, base, conflicted);
    }
  }
  return detectRenames(actions, input.remote);
}

function pushRemote(
  actions: Action[],
  stubbed: string[],
  input: PlanInput,
  rel: string,
  r: RemoteState,
  base: SyncedEntry | undefined,
  conflicted: boolean,
): void {
  const winner = r.winner!;
  const stub = winner.kind !== "symlink" && (base ? base.hydration === "stub" : input.stubs);
  const copies = conflicted ? copyable(r.heads, winner) : [];
  actions.push({ op: "download", rel, version: winner, stub, base, copies });
  if (stub && winner.kind === "dir") stubbed.push(rel);
}

/** Pair a local deletion with a local creation of the same inode, size and mtime. */
function detectRenames(actions: Action[], remote: Map<string, RemoteState>): Action[] {
  const gone = new Map<string, Extract<Action, { op: "tombstone" }>>();
  for (const a of actions) {
    if (a.op === "tombstone" && a.base.kind === "file" && a.base.hydration !== "stub") {
      gone.set(`${a.base.ino}:${a.base.size}:${a.base.mtime}`, a);
    }
  }
  if (gone.size === 0) return actions;
  const renamed = new Set<Action>();
  const out: Action[] = [];
  for (const a of actions) {
    // Only onto a name free on both sides: one that exists remotely is a concurrent write.
    if (
      a.op === "upload" && !a.base && !remote.get(a.rel)?.winner && a.local.kind === "file"
    ) {
      const key = `${a.local.ino}:${a.local.size}:${a.local.mtime}`;
      const from = gone.get(key);
      if (from && !renamed.has(from)) {
        renamed.add(from);
        out.push({
          op: "rename",
          from: from.rel,
          rel: a.rel,
          local: a.local,
          base: from.base,
          supersedes: from.supersedes,
        });
        continue;
      }
    }
    out.push(a);
  }
  return out.filter((a) => !renamed.has(a));
}
