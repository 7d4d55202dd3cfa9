/**
 * The inode table under `MemFs` (memfs.ts): inodes by number, directories as
 * name-to-inode maps, link counts and times kept as a kernel expects, and the
 * setup helpers tests use to build a tree.
 *
 * @module
 */

import { type Attr, Errno, FileType, FuseError, type Ino, ROOT_INO } from "../ops.ts";

/** One inode of a {@linkcode MemTree}. */
export interface MemNode {
  /** Its attributes (size is the file's length). */
  attr: Attr;
  /** File content (capacity may exceed `attr.size`). */
  data: Uint8Array;
  /** Symlink target. */
  target?: string;
  /** Directory entries by name. */
  children?: Map<string, Ino>;
  /** Kernel lookup count. */
  lookups: number;
}

/** The current time in ms, as inode times hold it. */
export function now(): number {
  return Date.now();
}

/** Inodes of an in-memory tree, with the root directory already made. */
export class MemTree {
  /** Inodes by number. */
  readonly nodes: Map<Ino, MemNode> = new Map();
  private nextIno = ROOT_INO + 1;

  /** An empty tree whose root is owned by the current user. */
  constructor() {
    const root = this.newNode(FileType.S_IFDIR | 0o755, Deno.uid() ?? 0, Deno.gid() ?? 0);
    root.attr.ino = ROOT_INO;
    this.nodes.delete(root.attr.ino);
    this.nodes.set(ROOT_INO, root);
    this.nextIno = ROOT_INO + 1;
    root.lookups = 1;
  }

  /** A fresh, unlinked inode. */
  protected newNode(mode: number, uid: number, gid: number): MemNode {
    const t = now();
    const ino = this.nextIno++;
    const isDir = (mode & FileType.S_IFMT) === FileType.S_IFDIR;
    const node: MemNode = {
      attr: { ino, size: 0, atime: t, mtime: t, ctime: t, mode, nlink: isDir ? 2 : 1, uid, gid },
      data: new Uint8Array(0),
      children: isDir ? new Map() : undefined,
      lookups: 0,
    };
    this.nodes.set(ino, node);
    return node;
  }

  /** The inode `ino`, or ENOENT. */
  node(ino: Ino): MemNode {
    const n = this.nodes.get(ino);
    if (!n) throw new FuseError(Errno.ENOENT);
    return n;
  }

  /** Entries of directory `ino`, or ENOTDIR. */
  protected dir(ino: Ino): Map<string, Ino> {
    const n = this.node(ino);
    if (!n.children) throw new FuseError(Errno.ENOTDIR);
    return n.children;
  }

  /** Inode at a "/"-separated path from the root, or ENOENT. */
  resolve(path: string): Ino {
    let ino = ROOT_INO;
    for (const part of path.split("/").filter((p) => p !== "")) {
      const next = this.dir(ino).get(part);
      if (next === undefined) throw new FuseError(Errno.ENOENT, `${path}: no such file`);
      ino = next;
    }
    return ino;
  }

  /** Create or replace file `name` in directory `parent` with `content` (test setup). */
  putFile(parent: Ino, name: string, content: Uint8Array, mode = 0o644): Ino {
    const existing = this.dir(parent).get(name);
    const node = existing !== undefined
      ? this.node(existing)
      : this.linkNode(parent, name, this.newNode(FileType.S_IFREG | mode, 0, 0));
    node.data = content.slice();
    node.attr.size = content.length;
    node.attr.mtime = node.attr.ctime = now();
    return node.attr.ino;
  }

  /** Create directory `name` in `parent` (test setup). */
  putDir(parent: Ino, name: string): Ino {
    return this.linkNode(parent, name, this.newNode(FileType.S_IFDIR | 0o755, 0, 0)).attr.ino;
  }

  /** A directory's content changed now. */
  protected touchDir(ino: Ino): void {
    const a = this.node(ino).attr;
    a.mtime = a.ctime = now();
  }

  /** Delete an inode neither linked nor known to the kernel. */
  protected dropIfUnused(ino: Ino): void {
    const n = this.nodes.get(ino);
    if (n && n.attr.nlink === 0 && n.lookups <= 0) this.nodes.delete(ino);
  }

  /** EEXIST/ENAMETOOLONG unless `name` can be created in `parent`. */
  protected checkNew(parent: Ino, name: string): void {
    if (name.length > 255) throw new FuseError(Errno.ENAMETOOLONG);
    if (this.dir(parent).has(name)) throw new FuseError(Errno.EEXIST);
  }

  /** Enter `node` as `name` in `parent`. */
  protected linkNode(parent: Ino, name: string, node: MemNode): MemNode {
    this.dir(parent).set(name, node.attr.ino);
    if (node.children) this.node(parent).attr.nlink++;
    this.touchDir(parent);
    return node;
  }

  /** Truncate or zero-extend a file. */
  protected resize(n: MemNode, size: number): void {
    if (size > n.data.length) {
      const grown = new Uint8Array(Math.max(size, Math.min(n.data.length * 2, size + (64 << 20))));
      grown.set(n.data.subarray(0, n.attr.size));
      n.data = grown;
    } else if (size < n.attr.size) {
      n.data.fill(0, size, n.attr.size);
    }
    n.attr.size = size;
  }
}
