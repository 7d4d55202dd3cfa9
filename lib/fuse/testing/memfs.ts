/**
 * A small in-memory file system on the FUSE interface, for tests and
 * benchmarks of the protocol layer: files, directories, symlinks, hard links,
 * rename, truncate, times, plus hooks to slow reads down and to change the
 * tree behind the kernel's back.
 *
 * @module
 */

import {
  type Attr,
  type AttrReply,
  type CreateReply,
  type DirList,
  type EntryReply,
  Errno,
  type FileSystem,
  FileType,
  FuseError,
  type InitInfo,
  type Ino,
  type NegativeEntryReply,
  type Notifier,
  type OpenReply,
  type RequestContext,
  ROOT_INO,
  type SetAttrChanges,
  type Timespec,
} from "../ops.ts";
import { timespecToMs } from "../codec.ts";

/** One inode of a {@linkcode MemFs}. */
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

/** Options of a {@linkcode MemFs}. */
export interface MemFsOptions {
  /** Attribute cache TTL handed to the kernel (default 1000 ms; 0 makes every stat a request). */
  attrTtlMs?: number;
  /** Name cache TTL (default 1000 ms). */
  entryTtlMs?: number;
  /** Keep the page cache across opens (default true; false makes every open read through FUSE). */
  keepCache?: boolean;
}

const RENAME_NOREPLACE = 1;

function now(): number {
  return Date.now();
}

function timeOf(t: Timespec | "now"): number {
  return t === "now" ? now() : timespecToMs(t);
}

/** An in-memory file system. */
export class MemFs implements FileSystem {
  /** Inodes by number. */
  readonly nodes: Map<Ino, MemNode> = new Map();
  /** Reads of these inodes wait this many ms first (aborted by INTERRUPT). */
  readonly readDelayMs: Map<Ino, number> = new Map();
  /** Unique ids of requests whose signal was aborted while they waited. */
  readonly interrupted: number[] = [];
  /** Reads now waiting out their delay. */
  waiting = 0;
  /** Set by INIT. */
  notifier?: Notifier;
  /** Set once the session ended (DESTROY or unmount). */
  destroyed = false;
  private nextIno = ROOT_INO + 1;
  private nextFh = 1;
  private readonly attrTtlMs: number;
  private readonly entryTtlMs: number;
  private readonly keepCache: boolean;

  /** An empty file system whose root is owned by the current user. */
  constructor(options: MemFsOptions = {}) {
    this.attrTtlMs = options.attrTtlMs ?? 1000;
    this.entryTtlMs = options.entryTtlMs ?? 1000;
    this.keepCache = options.keepCache ?? true;
    const root = this.newNode(FileType.S_IFDIR | 0o755, Deno.uid() ?? 0, Deno.gid() ?? 0);
    root.attr.ino = ROOT_INO;
    this.nodes.delete(root.attr.ino);
    this.nodes.set(ROOT_INO, root);
    this.nextIno = ROOT_INO + 1;
    root.lookups = 1;
  }

  /** A fresh, unlinked inode. */
  private newNode(mode: number, uid: number, gid: number): MemNode {
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
  private dir(ino: Ino): Map<string, Ino> {
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
  private touchDir(ino: Ino): void {
    const a = this.node(ino).attr;
    a.mtime = a.ctime = now();
  }

  /** An entry reply for `node`, counting the lookup. */
  private entry(node: MemNode): EntryReply {
    node.lookups++;
    return { attr: { ...node.attr }, entryTtlMs: this.entryTtlMs, attrTtlMs: this.attrTtlMs };
  }

  /** An attr reply for `node`. */
  private attrReply(node: MemNode): AttrReply {
    return { attr: { ...node.attr }, ttlMs: this.attrTtlMs };
  }

  /** Delete an inode neither linked nor known to the kernel. */
  private dropIfUnused(ino: Ino): void {
    const n = this.nodes.get(ino);
    if (n && n.attr.nlink === 0 && n.lookups <= 0) this.nodes.delete(ino);
  }

  /** EEXIST/ENAMETOOLONG unless `name` can be created in `parent`. */
  private checkNew(parent: Ino, name: string): void {
    if (name.length > 255) throw new FuseError(Errno.ENAMETOOLONG);
    if (this.dir(parent).has(name)) throw new FuseError(Errno.EEXIST);
  }

  init(info: InitInfo): void {
    this.notifier = info.notifier;
  }

  destroy(): void {
    this.destroyed = true;
  }

  lookup(
    _ctx: RequestContext,
    parent: Ino,
    name: string,
  ): Promise<EntryReply | NegativeEntryReply> {
    const ino = this.dir(parent).get(name);
    if (ino === undefined) throw new FuseError(Errno.ENOENT);
    return Promise.resolve(this.entry(this.node(ino)));
  }

  forget(ino: Ino, nlookup: number): void {
    const n = this.nodes.get(ino);
    if (!n) return;
    n.lookups -= nlookup;
    this.dropIfUnused(ino);
  }

  getattr(_ctx: RequestContext, ino: Ino): Promise<AttrReply> {
    return Promise.resolve(this.attrReply(this.node(ino)));
  }

  setattr(_ctx: RequestContext, ino: Ino, c: SetAttrChanges): Promise<AttrReply> {
    const n = this.node(ino);
    const a = n.attr;
    if (c.mode !== undefined) a.mode = (a.mode & FileType.S_IFMT) | (c.mode & 0o7777);
    if (c.uid !== undefined) a.uid = c.uid;
    if (c.gid !== undefined) a.gid = c.gid;
    if (c.size !== undefined) {
      if (n.children) throw new FuseError(Errno.EISDIR);
      this.resize(n, c.size);
      a.mtime = now();
    }
    if (c.atime !== undefined) a.atime = timeOf(c.atime);
    if (c.mtime !== undefined) a.mtime = timeOf(c.mtime);
    a.ctime = now();
    return Promise.resolve(this.attrReply(n));
  }

  /** Truncate or zero-extend a file. */
  private resize(n: MemNode, size: number): void {
    if (size > n.data.length) {
      const grown = new Uint8Array(Math.max(size, Math.min(n.data.length * 2, size + (64 << 20))));
      grown.set(n.data.subarray(0, n.attr.size));
      n.data = grown;
    } else if (size < n.attr.size) {
      n.data.fill(0, size, n.attr.size);
    }
    n.attr.size = size;
  }

  readlink(_ctx: RequestContext, ino: Ino): Promise<string> {
    const t = this.node(ino).target;
    if (t === undefined) throw new FuseError(Errno.EINVAL);
    return Promise.resolve(t);
  }

  mknod(ctx: RequestContext, parent: Ino, name: string, mode: number): Promise<EntryReply> {
    this.checkNew(parent, name);
    return Promise.resolve(
      this.entry(this.linkNode(parent, name, this.newNode(mode, ctx.uid, ctx.gid))),
    );
  }

  mkdir(ctx: RequestContext, parent: Ino, name: string, mode: number): Promise<EntryReply> {
    return this.mknod(ctx, parent, name, FileType.S_IFDIR | (mode & 0o7777));
  }

  symlink(ctx: RequestContext, parent: Ino, name: string, target: string): Promise<EntryReply> {
    this.checkNew(parent, name);
    const node = this.newNode(FileType.S_IFLNK | 0o777, ctx.uid, ctx.gid);
    node.target = target;
    node.attr.size = new TextEncoder().encode(target).length;
    return Promise.resolve(this.entry(this.linkNode(parent, name, node)));
  }

  link(_ctx: RequestContext, ino: Ino, newParent: Ino, newName: string): Promise<EntryReply> {
    this.checkNew(newParent, newName);
    const node = this.node(ino);
    if (node.children) throw new FuseError(Errno.EPERM);
    node.attr.nlink++;
    node.attr.ctime = now();
    this.linkNode(newParent, newName, node);
    return Promise.resolve(this.entry(node));
  }

  /** Enter `node` as `name` in `parent`. */
  private linkNode(parent: Ino, name: string, node: MemNode): MemNode {
    this.dir(parent).set(name, node.attr.ino);
    if (node.children) this.node(parent).attr.nlink++;
    this.touchDir(parent);
    return node;
  }

  unlink(_ctx: RequestContext, parent: Ino, name: string): Promise<void> {
    const ino = this.dir(parent).get(name);
    if (ino === undefined) throw new FuseError(Errno.ENOENT);
    const node = this.node(ino);
    if (node.children) throw new FuseError(Errno.EISDIR);
    this.dir(parent).delete(name);
    node.attr.nlink--;
    node.attr.ctime = now();
    this.touchDir(parent);
    this.dropIfUnused(ino);
    return Promise.resolve();
  }

  rmdir(_ctx: RequestContext, parent: Ino, name: string): Promise<void> {
    const ino = this.dir(parent).get(name);
    if (ino === undefined) throw new FuseError(Errno.ENOENT);
    const node = this.node(ino);
    if (!node.children) throw new FuseError(Errno.ENOTDIR);
    if (node.children.size > 0) throw new FuseError(Errno.ENOTEMPTY);
    this.dir(parent).delete(name);
    this.node(parent).attr.nlink--;
    node.attr.nlink = 0;
    this.touchDir(parent);
    this.dropIfUnused(ino);
    return Promise.resolve();
  }

  rename(
    ctx: RequestContext,
    parent: Ino,
    name: string,
    newParent: Ino,
    newName: string,
    flags: number,
  ): Promise<void> {
    if (flags & ~RENAME_NOREPLACE) throw new FuseError(Errno.EINVAL);
    const ino = this.dir(parent).get(name);
    if (ino === undefined) throw new FuseError(Errno.ENOENT);
    const existing = this.dir(newParent).get(newName);
    if (existing !== undefined) {
      if (flags & RENAME_NOREPLACE) throw new FuseError(Errno.EEXIST);
      if (existing === ino) return Promise.resolve();
      const replaced = this.node(existing);
      if (replaced.children) void this.rmdir(ctx, newParent, newName);
      else void this.unlink(ctx, newParent, newName);
    }
    const node = this.node(ino);
    this.dir(parent).delete(name);
    if (node.children) this.node(parent).attr.nlink--;
    this.linkNode(newParent, newName, node);
    this.touchDir(parent);
    node.attr.ctime = now();
    return Promise.resolve();
  }

  open(_ctx: RequestContext, ino: Ino): Promise<OpenReply> {
    if (this.node(ino).children) throw new FuseError(Errno.EISDIR);
    // Slow files bypass the page cache so each read is a synchronous, interruptible request.
    const slow = this.readDelayMs.has(ino);
    return Promise.resolve({
      fh: this.nextFh++,
      keepCache: this.keepCache && !slow,
      directIo: slow,
    });
  }

  async read(
    ctx: RequestContext,
    ino: Ino,
    _fh: number,
    offset: number,
    size: number,
  ): Promise<Uint8Array> {
    const delay = this.readDelayMs.get(ino);
    if (delay) await this.wait(ctx, delay);
    const n = this.node(ino);
    return n.data.subarray(Math.min(offset, n.attr.size), Math.min(offset + size, n.attr.size));
  }

  /** Sleep `ms`, or reject when the request is interrupted. */
  private wait(ctx: RequestContext, ms: number): Promise<void> {
    this.waiting++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        this.interrupted.push(ctx.unique);
        reject(ctx.signal.reason);
      }, { once: true });
    }).finally(() => this.waiting--);
  }

  write(
    _ctx: RequestContext,
    ino: Ino,
    _fh: number,
    offset: number,
    data: Uint8Array,
  ): Promise<number> {
    const n = this.node(ino);
    const end = offset + data.length;
    if (end > n.attr.size) this.resize(n, end);
    n.data.set(data, offset);
    n.attr.mtime = n.attr.ctime = now();
    return Promise.resolve(data.length);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  fsync(): Promise<void> {
    return Promise.resolve();
  }

  readdir(
    _ctx: RequestContext,
    ino: Ino,
    _fh: number,
    offset: number,
    list: DirList,
  ): Promise<void> {
    const entries: [string, Ino][] = [[".", ino], ["..", ino], ...this.dir(ino)];
    for (let i = offset; i < entries.length; i++) {
      const [name, child] = entries[i];
      const node = this.node(child);
      const entry = { ino: child, name, type: node.attr.mode, offset: i + 1 };
      if (!list.plus || i < 2) {
        if (!list.add(entry)) break;
      } else if (!list.addPlus(entry, this.entry(node))) {
        node.lookups--; // not sent, so not a lookup
        break;
      }
    }
    return Promise.resolve();
  }

  create(
    ctx: RequestContext,
    parent: Ino,
    name: string,
    mode: number,
  ): Promise<CreateReply> {
    this.checkNew(parent, name);
    const node = this.linkNode(parent, name, this.newNode(mode, ctx.uid, ctx.gid));
    return Promise.resolve({ entry: this.entry(node), open: { fh: this.nextFh++ } });
  }
}
