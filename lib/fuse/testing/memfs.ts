/**
 * A small in-memory file system on the FUSE interface, for tests and
 * benchmarks of the protocol layer: files, directories, symlinks, hard links,
 * rename, truncate, times, plus hooks to slow reads down and to change the
 * tree behind the kernel's back. This module answers the FUSE requests; the
 * inode table they work on is `mem_tree.ts`.
 *
 * @module
 */

import {
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
  type SetAttrChanges,
  type Timespec,
} from "../ops.ts";
import { timespecToMs } from "../codec.ts";
import { type MemNode, MemTree, now } from "./mem_tree.ts";

export type { MemNode } from "./mem_tree.ts";

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

function timeOf(t: Timespec | "now"): number {
  return t === "now" ? now() : timespecToMs(t);
}

/** An in-memory file system. */
export class MemFs extends MemTree implements FileSystem {
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
  private nextFh = 1;
  private readonly attrTtlMs: number;
  private readonly entryTtlMs: number;
  private readonly keepCache: boolean;

  /** An empty file system whose root is owned by the current user. */
  constructor(options: MemFsOptions = {}) {
    super();
    this.attrTtlMs = options.attrTtlMs ?? 1000;
    this.entryTtlMs = options.entryTtlMs ?? 1000;
    this.keepCache = options.keepCache ?? true;
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
