/**
 * The mounted tree: the repository namespace with the mount's own pending
 * changes laid over it. Directories are read from the namespace on first
 * use (a huge remote tree costs nothing until it is walked), and
 * {@link Tree.sync} folds a refreshed namespace into the directories already
 * read, reporting what changed so the kernel's caches can be told.
 * Paths with pending local changes keep their local state: a change made
 * here wins over the remote until it is committed (and then both agree).
 *
 * @module
 */

import { statSync } from "node:fs";
import { compareVectors, type DirEntry, type Namespace } from "../repo/mod.ts";
import { InodeTable, type Node } from "./inodes.ts";
import type { Change } from "./journal.ts";

/** What the tree needs to know of pending changes (the committer answers). */
export interface PendingView {
  /** The pending change of a path. */
  pendingAt(path: string): Change | undefined;
  /** Pending changes directly inside a directory. */
  pendingIn(dir: string): Change[];
  /** Whether anything at or below a path is pending. */
  hasPendingUnder(path: string): boolean;
}

/** A change {@link Tree.sync} made to a directory the kernel may have cached. */
export interface TreeChange {
  /** The directory. */
  parent: Node;
  /** Real name of the child that appeared, changed or went away. */
  name: string;
  /** The node whose attributes or content changed (or that was removed). */
  node?: Node;
}

/** Mode of directories that exist only because something lives below them. */
const IMPLIED_DIR_MODE = 0o755;

/** The mounted tree; see the module documentation. */
export class Tree {
  /** Inode numbers of the tree's nodes. */
  readonly inodes: InodeTable;
  /** The namespace read so far. */
  ns: Namespace;
  readonly #pending: PendingView;
  readonly #contentPath: (id: string) => string;

  /** A tree over `ns`, with `pending` laid over it; `contentPath` locates content files. */
  constructor(ns: Namespace, pending: PendingView, contentPath: (id: string) => string) {
    this.ns = ns;
    this.#pending = pending;
    this.#contentPath = contentPath;
    this.inodes = new InodeTable();
  }

  /** The root directory. */
  get root(): Node {
    return this.inodes.root;
  }

  /** Children of a directory, read from the namespace on first use. */
  children(dir: Node): Map<string, Node> {
    if (!dir.children) return new Map();
    if (!dir.loaded) this.#load(dir);
    return dir.children;
  }

  /** The child named `name` (its real name) of `dir`. */
  child(dir: Node, name: string): Node | undefined {
    return this.children(dir).get(name);
  }

  /**
   * Number of subdirectories of `dir` (for its link count), without reading
   * a directory not read yet into nodes: the namespace and the pending
   * changes are counted as the first read would take them.
   */
  subdirCount(dir: Node): number {
    let n = 0;
    if (dir.loaded || !dir.children) {
      for (const c of dir.children?.values() ?? []) if (c.kind === "dir") n++;
      return n;
    }
    const path = dir.path();
    if (path === null) return 0;
    for (const e of this.ns.list(path)) {
      if (e.kind === "dir" && !this.#pending.pendingAt(e.path)) n++;
    }
    for (const c of this.#pending.pendingIn(path)) if (c.kind === "dir" && !c.deleted) n++;
    return n;
  }

  /** The node at `path`, reading directories on the way. */
  find(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    for (const part of path.split("/")) {
      if (part === "") continue;
      if (!node || node.kind !== "dir") return undefined;
      node = this.child(node, part);
    }
    return node;
  }

  /** The node at `path` if the tree has read it already (reads nothing). */
  findLoaded(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    for (const part of path.split("/")) {
      if (part === "") continue;
      if (!node?.loaded) return undefined;
      node = node.children?.get(part);
    }
    return node;
  }

  /** Put `node` into `dir` as `name` (replacing and unlinking what was there). */
  link(dir: Node, name: string, node: Node): void {
    const children = this.children(dir);
    const old = children.get(name);
    if (old && old !== node) this.unlink(old);
    const from = node.parent;
    if (from?.children?.get(node.name) === node) {
      from.children.delete(node.name);
      touch(from);
    }
    node.name = name;
    node.parent = dir;
    children.set(name, node);
    touch(dir);
  }

  /** Take `node` out of its directory; its inode lives on while the kernel holds it. */
  unlink(node: Node): void {
    const parent = node.parent;
    if (parent?.children?.get(node.name) === node) {
      parent.children.delete(node.name);
      touch(parent);
    }
    node.parent = null;
    this.inodes.release(node);
  }

  /** A new node in `dir`, not yet known to the repository. */
  create(dir: Node, name: string, kind: Node["kind"], mode: number): Node {
    const node = this.inodes.create(name, dir, kind, mode);
    if (kind === "dir") {
      node.loaded = true;
      node.expanded = true;
    }
    this.link(dir, name, node);
    return node;
  }

  /**
   * Fold a refreshed namespace into every directory already read. Paths with
   * pending changes are left alone. Returns what changed.
   */
  sync(ns: Namespace): TreeChange[] {
    this.ns = ns;
    const out: TreeChange[] = [];
    const walk = (dir: Node, path: string) => {
      if (!dir.loaded || !dir.children) return;
      const remote = new Map(ns.list(path).map((e) => [e.name, e]));
      for (const [name, node] of [...dir.children]) {
        const childPath = join(path, name);
        if (this.#pending.hasPendingUnder(childPath)) {
          if (node.kind === "dir") walk(node, childPath);
          continue;
        }
        const entry = remote.get(name);
        if (!entry || entry.kind !== node.kind) {
          this.unlink(node);
          out.push({ parent: dir, name, node });
          if (entry) out.push({ parent: dir, name, node: this.#fromEntry(dir, entry) });
        } else if (entry.version && !sameVersion(node, entry)) {
          node.applyVersion(entry.version);
          node.hydrated = undefined;
          out.push({ parent: dir, name, node });
        }
        if (node.kind === "dir" && node.parent === dir) walk(node, childPath);
      }
      for (const [name, entry] of remote) {
        if (dir.children.has(name) || this.#pending.pendingAt(join(path, name))) continue;
        out.push({ parent: dir, name, node: this.#fromEntry(dir, entry) });
      }
    };
    walk(this.root, "/");
    return out;
  }

  #load(dir: Node): void {
    dir.loaded = true;
    const path = dir.path();
    if (path === null) return;
    for (const entry of this.ns.list(path)) {
      if (!this.#pending.pendingAt(entry.path)) this.#fromEntry(dir, entry);
    }
    for (const change of this.#pending.pendingIn(path)) {
      if (change.deleted) continue;
      const node = this.inodes.create(baseName(change.path), dir, change.kind, change.mode);
      this.#applyChange(node, change);
      dir.children!.set(node.name, node);
    }
  }

  #fromEntry(dir: Node, entry: DirEntry): Node {
    const node = this.inodes.create(entry.name, dir, entry.kind, IMPLIED_DIR_MODE);
    if (entry.version) node.applyVersion(entry.version);
    else node.mtime = node.ctime = 0;
    dir.children!.set(entry.name, node);
    return node;
  }

  /** A node made from a pending change (changes journaled before a restart). */
  #applyChange(node: Node, change: Change): void {
    node.mtime = change.mtime;
    node.target = change.target;
    node.base = change.base;
    if (change.kind === "dir") {
      node.loaded = false;
      node.expanded = true;
    }
    if (change.kind === "symlink") node.size = new TextEncoder().encode(change.target!).length;
    if (change.local !== undefined) {
      node.local = change.local;
      // Outside the mount, so a synchronous stat cannot wait on this process's own requests.
      const info = statSync(this.#contentPath(change.local), { throwIfNoEntry: false });
      node.size = info?.size ?? 0;
      node.mtime = info?.mtime?.getTime() ?? change.mtime;
    } else if (change.content) {
      node.content = { manifestId: change.content.manifestId, manifest: change.content.manifest };
      node.size = change.content.size;
    }
  }
}

/** Whether the node shows the entry's version already (the version this node last took on). */
function sameVersion(node: Node, entry: DirEntry): boolean {
  return node.base !== undefined && compareVectors(node.base, entry.version!.vv) === "equal";
}

/** A directory's entries changed: its mtime and ctime move (locally; not committed by itself). */
function touch(dir: Node): void {
  dir.mtime = dir.ctime = Date.now();
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
