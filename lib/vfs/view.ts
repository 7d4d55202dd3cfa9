/**
 * What the kernel sees of the tree: names (stub or real, see naming.ts),
 * attributes, entry replies with their cache lifetimes, the text of stub
 * aliases, and the notifications that keep the kernel's caches true when a
 * stub becomes local (`name.tc` turns into `name`) or goes back.
 *
 * @module
 */

import {
  type Attr,
  type EntryReply,
  FileType,
  type NegativeEntryReply,
  type Notifier,
} from "../fuse/ops.ts";
import type { Logger } from "../log/mod.ts";
import type { Manifest } from "../repo/mod.ts";
import type { ContentStore } from "./content.ts";
import { type InodeRef, type InodeView, type Node, ROOT_INO } from "./inodes.ts";
import { type NamesMode, visibleName } from "./naming.ts";
import { DIR_STUB_SUFFIX, FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { Tree } from "./tree.ts";

/** Cache lifetimes given to the kernel. */
export interface ViewTimes {
  /** Names and attributes (ms). */
  attrTtlMs: number;
  /** "No such name" answers (ms; 0: not cached). */
  negativeTtlMs: number;
}

const TYPE_BITS = { file: FileType.S_IFREG, dir: FileType.S_IFDIR, symlink: FileType.S_IFLNK };

/** The kernel's view of the tree; see the module documentation. */
export class View {
  /** Naming of entries. */
  readonly names: NamesMode;
  readonly #tree: Tree;
  readonly #content: ContentStore;
  readonly #times: ViewTimes;
  readonly #log: Logger;
  readonly #uid = Deno.uid() ?? 0;
  readonly #gid = Deno.gid() ?? 0;
  /** Chunk id → files shown as local that need it (so an eviction turns them into stubs). */
  readonly #holders = new Map<string, Set<Node>>();
  readonly #stopWatching: () => void;
  /** Set by the session's INIT; notifications before that have nothing to tell. */
  notifier?: Notifier;

  /** A view of `tree` with the given naming and lifetimes. */
  constructor(tree: Tree, content: ContentStore, names: NamesMode, times: ViewTimes, log: Logger) {
    this.#tree = tree;
    this.#content = content;
    this.names = names;
    this.#times = times;
    this.#log = log;
    this.#stopWatching = content.cache.watchRemovals((id) => this.#chunkGone(id));
  }

  /** Stop following the chunk cache. */
  close(): void {
    this.#stopWatching();
    this.#holders.clear();
  }

  /** Whether a node shows as a stub: a file not local, a directory never listed. */
  readonly isStub = (node: Node): boolean => {
    if (node.kind === "dir") return !node.expanded;
    if (node.kind !== "file") return false;
    return !this.isLocal(node);
  };

  /** Whether the whole content of a file is on this machine (working copy or cache). */
  isLocal(node: Node): boolean {
    if (node.local !== undefined || node.size === 0 || !node.content) return true;
    if (node.unsynced) return false;
    if (node.hydrated === undefined) {
      const m = this.#content.known(node.content);
      if (!m) return false;
      if (this.#content.isCached(m)) this.#markHydrated(node, m);
      else node.hydrated = false;
    }
    return node.hydrated === true;
  }

  /** A file's chunks are all cached: it shows as local until one of them leaves the cache. */
  #markHydrated(node: Node, m: Manifest): void {
    node.hydrated = true;
    for (const c of m.chunks) {
      let nodes = this.#holders.get(c.id);
      if (!nodes) this.#holders.set(c.id, nodes = new Set());
      nodes.add(node);
    }
  }

  /**
   * Chunk `id` left the cache (evicted over the quota, dropped): files that
   * showed as local because of it are stubs again (`name` turns into
   * `name.tc`; the kernel is told). Their state is checked afresh on next use.
   */
  #chunkGone(id: string): void {
    const nodes = this.#holders.get(id);
    if (!nodes) return;
    this.#holders.delete(id);
    for (const node of nodes) {
      if (node.hydrated !== true) continue;
      node.hydrated = undefined;
      if (this.names === "stubs" && node.local === undefined && !this.isLocal(node)) {
        this.invalidate(node.parent, node.name);
      }
    }
  }

  /** Check again whether a file's chunks are all cached (they may have been evicted). */
  recheck(node: Node): void {
    if (node.kind === "file") node.hydrated = undefined;
  }

  /** The attributes of an inode. */
  async attr(ref: InodeRef, ino: number): Promise<Attr> {
    const n = ref.node;
    if (ref.view === "stub") {
      const text = await this.stubText(n);
      const mode = n.kind === "dir" ? 0o444 : n.mode & 0o7777;
      return this.#attr(ino, FileType.S_IFREG | mode, text.length, n, 1);
    }
    // A directory's link count is 2 + its subdirectories (their `..`), as find(1) expects.
    const nlink = n.kind === "dir"
      ? 2 + this.#tree.subdirCount(n)
      : n.parent || n.ino === ROOT_INO
      ? 1
      : 0;
    return this.#attr(ino, TYPE_BITS[n.kind] | n.mode, n.size, n, nlink);
  }

  #attr(ino: number, mode: number, size: number, n: Node, nlink: number): Attr {
    return {
      ino,
      size,
      atime: n.mtime,
      mtime: n.mtime,
      ctime: n.ctime,
      mode,
      nlink,
      uid: this.#uid,
      gid: this.#gid,
      blksize: 65536,
    };
  }

  /** The text a stub alias shows: the `.tc` stub of a file, the `.tcf` listing of a directory. */
  async stubText(n: Node): Promise<Uint8Array> {
    const path = n.path() ?? `/${n.name}`;
    if (n.kind === "dir") return this.#content.dirStub(this.#tree.ns, path, n);
    const m = await this.#content.manifest(n.content!);
    return this.#content.fileStub(path, n.content!, m, n);
  }

  /** The entry reply for a node or its alias; counts one lookup. */
  async entry(node: Node, view: InodeView): Promise<EntryReply> {
    const ino = view === "stub" ? this.#tree.inodes.stubInoOf(node) : node.ino;
    const ref = { node, view };
    const attr = await this.attr(ref, ino);
    this.#tree.inodes.lookedUp(ino);
    return { attr, entryTtlMs: this.#times.attrTtlMs, attrTtlMs: this.#times.attrTtlMs };
  }

  /** The answer for a name that does not exist (a negative entry when enabled). */
  negative(): NegativeEntryReply | null {
    return this.#times.negativeTtlMs > 0
      ? { negative: true, entryTtlMs: this.#times.negativeTtlMs }
      : null;
  }

  /** Attribute lifetime for getattr replies. */
  get attrTtlMs(): number {
    return this.#times.attrTtlMs;
  }

  /**
   * A node's name changed spelling (stub to real or back) or it changed
   * behind the kernel's back: drop both spellings from the dentry cache and
   * the node's cached attributes and pages.
   */
  invalidate(parent: Node | null, name: string, node?: Node): void {
    const notifier = this.notifier;
    if (!notifier) return;
    const tell = (p: Promise<boolean>) =>
      p.catch((err) => this.#log.debug("mount: invalidation failed", { error: String(err) }));
    if (parent) {
      tell(notifier.invalEntry(parent.ino, name));
      if (this.names === "stubs") {
        tell(notifier.invalEntry(parent.ino, name + FILE_STUB_SUFFIX));
        tell(notifier.invalEntry(parent.ino, name + DIR_STUB_SUFFIX));
      }
    }
    if (node) {
      tell(notifier.invalInode(node.ino, 0, 0));
      if (node.stubIno !== undefined) tell(notifier.invalInode(node.stubIno, -1, 0));
    }
  }

  /**
   * After reads or a hydration: if the file just became local, its listed
   * name turns from `name.tc` into `name` (the kernel is told).
   */
  noteHydrated(node: Node): void {
    if ((node.hydrated === true && !node.unsynced) || !node.content) return;
    const m = this.#content.known(node.content);
    if (!m || !this.#content.isCached(m)) return;
    this.#markHydrated(node, m);
    node.unsynced = false;
    if (this.names === "stubs") this.invalidate(node.parent, node.name);
  }

  /**
   * A file shown as local from its working copy is now local from the cache
   * (its copy went after the commit): its name does not change, so the
   * kernel is told nothing (a burst of commits would flood it with
   * notifications); its chunks are watched from now on.
   */
  cachedFromCopy(node: Node): void {
    const m = node.content && this.#content.known(node.content);
    if (m && this.#content.isCached(m)) this.#markHydrated(node, m);
  }

  /** The name a child is listed under. */
  nameOf(node: Node): string {
    return visibleName(node, this.names, this.isStub);
  }
}
