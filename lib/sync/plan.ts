/**
 * The three-way sync decision. For every path, the last synced version (the
 * base, from local state), what is on disk now and what the namespace holds
 * decide one action. Pure: no I/O, so every rule is unit-tested.
 *
 * Rules (the base is the common ancestor):
 * - only local changed: upload it, or commit a tombstone if it was deleted;
 * - only remote changed: download it (or a stub), or delete the local copy;
 * - both changed: identical content is simply recorded; an edit beats a
 *   delete on either side; two different edits are a conflict: the local
 *   file stays, the remote version lands beside it as a conflict copy, and
 *   the local one is committed as a concurrent version so every device sees
 *   both;
 * - several concurrent remote versions: the deterministic winner is written
 *   at the path and the others as conflict copies, on every device alike;
 * - a local file that vanished while a new one with the same inode, size and
 *   mtime appeared is a rename: recorded without re-upload.
 *
 * @module
 */

import type { PathVersion } from "../repo/mod.ts";
import { compareVectors } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import type { LocalEntry } from "./scan.ts";

/** One thing a sync round does. */
export type Action =
  | {
    op: "upload";
    rel: string;
    local: LocalEntry;
    base?: SyncedEntry;
    /** Supersede only `base`: versions from elsewhere stay concurrent (copies beside it). */
    concurrent?: boolean;
    /** The remote side did not change: content equal to the base is just re-recorded. */
    onlyLocal?: boolean;
  }
  | { op: "rename"; from: string; rel: string; local: LocalEntry; base: SyncedEntry }
  | { op: "tombstone"; rel: string; base: SyncedEntry }
  | { op: "download"; rel: string; version: PathVersion; stub: boolean; base?: SyncedEntry }
  | { op: "conflict-copies"; rel: string; winner: PathVersion; others: PathVersion[] }
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
  /**
   * Versions already materialised here as conflict copies, as `device:manifestId`: while a
   * conflict stands they are known, not news.
   */
  copied?: Set<string>;
}

/** Whether the local entry may differ from the base (a re-hash settles "maybe"). */
export function localDiffers(base: SyncedEntry, loc: LocalEntry): boolean {
  if (base.kind !== loc.kind || base.mode !== loc.mode) return true;
  if (loc.kind === "symlink") return base.target !== loc.target;
  if (loc.kind === "dir") return false;
  return base.size !== loc.size || base.mtime !== loc.mtime || base.ino !== loc.ino ||
    base.ctime !== loc.ctime;
}

function remoteDiffers(
  base: SyncedEntry | undefined,
  r: RemoteState | undefined,
  copied: Set<string>,
): boolean {
  const heads = r?.heads ?? [];
  if (!base) return r?.winner !== undefined;
  const known = (h: PathVersion) =>
    compareVectors(h.vv, base.vv) === "equal" || copied.has(`${h.device}:${h.manifestId}`);
  return heads.length === 0 || !heads.some((h) => compareVectors(h.vv, base.vv) === "equal") ||
    !heads.every(known);
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
    const r = input.remote.get(rel);
    const lc = base ? (!loc || localDiffers(base, loc)) : loc !== undefined;
    const rc = remoteDiffers(base, r, input.copied ?? new Set());
    const winner = r?.winner;
    if (!lc && !rc) continue;
    if (lc && !rc) {
      // Only our own version changed: the new one supersedes exactly it, so versions kept
      // beside it as conflict copies stay alive elsewhere.
      if (loc) {
        actions.push({ op: "upload", rel, local: loc, base, concurrent: !!base, onlyLocal: true });
      } else if (base) actions.push({ op: "tombstone", rel, base });
      continue;
    }
    if (!lc && rc) {
      if (winner) pushRemote(actions, stubbed, input, rel, r!, base);
      else if (base && loc) actions.push({ op: "delete-local", rel, base });
      else if (base) actions.push({ op: "forget", rel });
      continue;
    }
    // Both sides changed.
    if (!loc && !winner) {
      if (base) actions.push({ op: "forget", rel });
    } else if (!loc) {
      if (base && winner && compareVectors(winner.vv, base.vv) === "equal") {
        // What is shown is still our version (the news is elsewhere, e.g. another head
        // deleted): our deletion stands and supersedes only that version.
        actions.push({ op: "tombstone", rel, base });
      } else pushRemote(actions, stubbed, input, rel, r!, base); // a remote edit beats the delete
    } else if (!winner) {
      actions.push({ op: "upload", rel, local: loc, base }); // the local edit beats the delete
    } else if (loc.kind === "dir" && winner.kind === "dir") {
      actions.push({ op: "upload", rel, local: loc, base });
    } else {
      // Two edits: the apply step compares content and records it if identical.
      actions.push({ op: "upload", rel, local: loc, base, concurrent: true });
    }
  }
  return detectRenames(actions);
}

function pushRemote(
  actions: Action[],
  stubbed: string[],
  input: PlanInput,
  rel: string,
  r: RemoteState,
  base: SyncedEntry | undefined,
): void {
  const winner = r.winner!;
  const stub = winner.kind !== "symlink" && (base ? base.hydration === "stub" : input.stubs);
  actions.push({ op: "download", rel, version: winner, stub, base });
  if (stub && winner.kind === "dir") stubbed.push(rel);
  const others = r.heads.filter((h) => h !== winner && !h.deleted);
  if (others.length > 0) actions.push({ op: "conflict-copies", rel, winner, others });
}

/** Pair a local deletion with a local creation of the same inode, size and mtime. */
function detectRenames(actions: Action[]): Action[] {
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
    if (a.op === "upload" && !a.base && a.local.kind === "file") {
      const key = `${a.local.ino}:${a.local.size}:${a.local.mtime}`;
      const from = gone.get(key);
      if (from && !renamed.has(from)) {
        renamed.add(from);
        out.push({ op: "rename", from: from.rel, rel: a.rel, local: a.local, base: from.base });
        continue;
      }
    }
    out.push(a);
  }
  return out.filter((a) => !renamed.has(a));
}
