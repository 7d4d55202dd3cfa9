/**
 * The mount's nodes and inode numbers. A {@link Node} is one file, directory
 * or symlink of the mounted tree, linked to its parent, so a rename moves the
 * node (and its whole subtree) without changing any inode number. The
 * {@link InodeTable} hands out inode numbers, keeps the kernel's lookup
 * counts (FORGET) and keeps an unlinked node alive while the kernel still
 * holds it (open files, cached inodes).
 *
 * A file that is not local has a second inode, its stub alias: the kernel
 * sees `name.tc` as a file of its own (stub-sized attributes) whose reads
 * serve the real content. A directory stub `name.tcf` likewise has an alias
 * whose content is the `.tcf` listing.
 *
 * @module
 */

import type { Manifest, ManifestRef, PathVersion, VersionVector } from "../repo/mod.ts";

/** Inode number of the mount's root directory. */
export const ROOT_INO = 1;

/** What a node is. */
export type NodeKind = PathVersion["kind"];

/** Committed content of a file: the manifest of the version it came from. */
export interface FileContent {
  /** Manifest id. */
  manifestId: string;
  /** The manifest, inline or as a reference to its stored object. */
  manifest: Manifest | ManifestRef;
}

/** One entry of the mounted tree. */
export class Node {
  /** Inode number, fixed for the node's life. */
  readonly ino: number;
  /** Name in the parent directory (its real name, never a stub name). */
  name: string;
  /** Parent directory; null for the root and for unlinked nodes. */
  parent: Node | null;
  /** Kind. */
  kind: NodeKind;
  /** Permission bits. */
  mode: number;
  /** Modification time (ms). */
  mtime: number;
  /** Status change time (ms). */
  ctime: number;
  /** Size in bytes (files), target length (symlinks), 0 (directories). */
  size = 0;
  /** Symlink target. */
  target?: string;
  /**
   * Version vector of the committed version at this node's path that local
   * changes supersede (absent: nothing was committed there).
   */
  base?: VersionVector;
  /** Committed content the file's bytes come from when there is no local copy. */
  content?: FileContent;
  /** Id of a local content file holding the whole current content (written or copied). */
  local?: string;
  /**
   * Whether every chunk of the committed content is in the chunk cache
   * (undefined: not checked yet). A file with a local copy is local anyway.
   */
  hydrated?: boolean;
  /** Turned back into a stub by `unsync` (until read through or hydrated again). */
  unsynced = false;
  /** Children of a directory, by real name (filled on first use from the namespace). */
  children?: Map<string, Node>;
  /** Whether the children were read from the namespace. */
  loaded = false;
  /** Stubs view: a directory shown under its real name (listed at least once). */
  expanded = false;
  /** Open file handles on this node. */
  opens = 0;
  /** Inode number of the stub alias (`name.tc`, `name.tcf`), once the kernel saw it. */
  stubIno?: number;

  /** A node; see {@link InodeTable.create}. */
  constructor(ino: number, name: string, parent: Node | null, kind: NodeKind, mode: number) {
    this.ino = ino;
    this.name = name;
    this.parent = parent;
    this.kind = kind;
    this.mode = mode;
    this.mtime = this.ctime = Date.now();
    if (kind === "dir") this.children = new Map();
  }

  /** The node's path inside the repository (`/` for the root), or null when unlinked. */
  path(): string | null {
    if (this.ino === ROOT_INO) return "/";
    const parentPath = this.parent?.path() ?? null;
    if (parentPath === null) return null;
    return parentPath === "/" ? `/${this.name}` : `${parentPath}/${this.name}`;
  }

  /** Whether the node is still in the tree (its parents lead to the root). */
  attached(): boolean {
    return this.path() !== null;
  }

  /** Take over the metadata and content of a committed version. */
  applyVersion(v: PathVersion): void {
    this.kind = v.kind;
    this.mode = v.mode;
    this.mtime = v.mtime;
    this.ctime = Math.max(this.ctime, v.time);
    this.size = v.size;
    this.target = v.target;
    this.base = v.vv;
    this.content = v.manifestId && v.manifest
      ? { manifestId: v.manifestId, manifest: v.manifest }
      : undefined;
    if (v.kind === "dir") this.children ??= new Map();
  }
}

/** How an inode number shows a node: as itself, or as its stub alias. */
export type InodeView = "node" | "stub";

/** One inode number the kernel may know. */
export interface InodeRef {
  /** The node. */
  node: Node;
  /** Whether this number is the node itself or its stub alias. */
  view: InodeView;
}

interface Slot extends InodeRef {
  nlookup: number;
}

/** Inode numbers with the kernel's lookup counts. */
export class InodeTable {
  readonly #slots = new Map<number, Slot>();
  #next = ROOT_INO + 1;
  /** The root directory. */
  readonly root: Node;

  /** A table holding only the root directory (mode `rootMode`). */
  constructor(rootMode = 0o755) {
    this.root = new Node(ROOT_INO, "", null, "dir", rootMode);
    this.root.expanded = true;
    this.#slots.set(ROOT_INO, { node: this.root, view: "node", nlookup: 1 });
  }

  /** A new node with a fresh inode number (not yet linked into a directory). */
  create(name: string, parent: Node | null, kind: NodeKind, mode: number): Node {
    const node = new Node(this.#next++, name, parent, kind, mode);
    this.#slots.set(node.ino, { node, view: "node", nlookup: 0 });
    return node;
  }

  /** The node or alias behind `ino`, if the table has it. */
  get(ino: number): InodeRef | undefined {
    return this.#slots.get(ino);
  }

  /** Inode number of a node's stub alias (made on first use). */
  stubInoOf(node: Node): number {
    if (node.stubIno === undefined) {
      node.stubIno = this.#next++;
      this.#slots.set(node.stubIno, { node, view: "stub", nlookup: 0 });
    }
    return node.stubIno;
  }

  /** The kernel learned `ino` from a reply (one more lookup reference). */
  lookedUp(ino: number): void {
    const slot = this.#slots.get(ino);
    if (slot) slot.nlookup++;
  }

  /** The kernel dropped `n` references to `ino`. */
  forget(ino: number, n: number): void {
    const slot = this.#slots.get(ino);
    if (!slot || ino === ROOT_INO) return;
    slot.nlookup = Math.max(0, slot.nlookup - n);
    this.release(slot.node);
  }

  /** Current lookup count of `ino` (0 when unknown). */
  lookups(ino: number): number {
    return this.#slots.get(ino)?.nlookup ?? 0;
  }

  /**
   * Drop a node's numbers once nothing can reach it any more: unlinked, not
   * open, and no lookup reference left on the node or its alias. Attached
   * nodes keep their numbers for the mount's life (stable inode per path).
   */
  release(node: Node): void {
    if (node.opens > 0 || node.attached()) return;
    if (this.lookups(node.ino) > 0) return;
    if (node.stubIno !== undefined && this.lookups(node.stubIno) > 0) return;
    this.#slots.delete(node.ino);
    if (node.stubIno !== undefined) this.#slots.delete(node.stubIno);
    for (const child of node.children?.values() ?? []) {
      child.parent = null;
      this.release(child);
    }
  }

  /** How many inode numbers are live (nodes and aliases). */
  get size(): number {
    return this.#slots.size;
  }
}
