/**
 * The tcfs file system behind a FUSE mount: the kernel's requests (lookup,
 * open, read, write, rename, ...) answered from the mounted tree. Every
 * request is async and touches only what it needs: a slow chunk fetch
 * delays the read waiting for it and nothing else. Name changes (create,
 * rename, unlink, ...) live in {@link EntryOps} and management (recover,
 * refresh, hydrate, unsync, pin, close) in `MountControl`, which this class
 * extends.
 *
 * @module
 */

import { ChunkReadError } from "../cache/mod.ts";
import {
  type AttrReply,
  type DirList,
  type EntryReply,
  Errno,
  type FileSystem,
  type InitInfo,
  type NegativeEntryReply,
  type OpenReply,
  type RequestContext,
  type SetAttrChanges,
  type StatfsReply,
  type Timespec,
} from "../fuse/ops.ts";
import type { VfsOptions } from "./control.ts";
import { EntryOps, fail } from "./entry_ops.ts";
import { WriteJournal } from "./journal.ts";
import { type FileHandle, fillDirList } from "./handles.ts";
import type { Node } from "./inodes.ts";
import { listVisible } from "./naming.ts";
import type { OpenRequest } from "./passthrough.ts";

const O_ACCMODE = 3;
const O_TRUNC = 0o1000;

function toMs(t: Timespec | "now"): number {
  return t === "now" ? Date.now() : t.sec * 1000 + Math.floor(t.nsec / 1e6);
}

/** The mount's file system; construct with {@link MountControl.open} (see lib/vfs/mod.ts). */
export class TcfsFileSystem extends EntryOps implements FileSystem {
  /** Open the journal and assemble the file system (then {@link recover}, then mount). */
  static async open(opts: VfsOptions): Promise<TcfsFileSystem> {
    return new TcfsFileSystem(opts, await WriteJournal.open(opts.journalDir));
  }

  /** The session's INIT: keep its notifier (cache invalidations) and backing files (passthrough). */
  init(info: InitInfo): void {
    this.view.notifier = info.notifier;
    this.passthrough.backing = info.backing;
  }

  /** The session ended: commit what is pending (best effort; the journal keeps the rest). */
  async destroy(): Promise<void> {
    await this.committer.flush().catch(() => {});
  }

  /** Resolve a name (stub spellings included); a directory stub is listed from now on. */
  async lookup(
    _ctx: RequestContext,
    parent: number,
    name: string,
  ): Promise<EntryReply | NegativeEntryReply> {
    const found = this.resolve(this.dir(parent), name);
    if (!found) return this.view.negative() ?? fail(Errno.ENOENT);
    this.expand(found.node);
    return await this.view.entry(found.node, found.view);
  }

  /** The kernel dropped references. */
  forget(ino: number, nlookup: number): void {
    this.tree.inodes.forget(ino, nlookup);
  }

  /** Attributes. */
  async getattr(_ctx: RequestContext, ino: number): Promise<AttrReply> {
    return { attr: await this.view.attr(this.ref(ino), ino), ttlMs: this.view.attrTtlMs };
  }

  /** chmod, truncate, utimens (owners are not kept: chown succeeds and changes nothing). */
  async setattr(ctx: RequestContext, ino: number, c: SetAttrChanges): Promise<AttrReply> {
    const ref = this.ref(ino);
    const node = ref.node;
    if (ref.view === "stub" && node.kind === "dir") fail(Errno.EPERM);
    if (c.size !== undefined) {
      if (node.kind !== "file") fail(Errno.EISDIR);
      await this.writes.truncate(node, c.size, ctx.signal);
    }
    if (c.mode !== undefined || c.mtime !== undefined) {
      await this.writes.setMeta(node, {
        mode: c.mode,
        mtime: c.mtime === undefined ? undefined : toMs(c.mtime),
      });
    }
    if (c.size !== undefined || c.mode !== undefined || c.mtime !== undefined) {
      this.committer.schedule();
    }
    return { attr: await this.view.attr(ref, ino), ttlMs: this.view.attrTtlMs };
  }

  /** Target of a symlink. */
  readlink(_ctx: RequestContext, ino: number): Promise<string> {
    const node = this.ref(ino).node;
    return Promise.resolve(node.target ?? fail(Errno.EINVAL));
  }

  /**
   * Open a file; through a stub alias the real content is served (direct
   * I/O). A hydrated file opened read-only is served by the kernel from its
   * whole local copy when the mount agreed passthrough (passthrough.ts).
   */
  async open(ctx: RequestContext, ino: number, flags: number): Promise<OpenReply> {
    const ref = this.ref(ino);
    const node = ref.node;
    const writable = (flags & O_ACCMODE) !== 0;
    let text: Uint8Array | undefined;
    if (ref.view === "stub" && node.kind === "dir") {
      if (writable) fail(Errno.EACCES);
      text = await this.view.stubText(node);
    } else if (node.kind === "dir") fail(Errno.EISDIR);
    else if (node.kind !== "file") fail(Errno.EINVAL);
    if (writable && ref.view === "node") this.passthrough.checkWriter(node);
    if (writable && (flags & O_TRUNC) && node.size > 0) {
      await this.writes.truncate(node, 0, ctx.signal);
    }
    if (!text && node.local === undefined && node.content) await this.#manifestOrEio(node);
    if (!text && !this.view.isLocal(node)) this.hydrations.begin(node);
    node.opens++;
    const h: FileHandle = { node, view: ref.view, writable, dirty: false, text };
    const fh = this.fileHandles.add(h);
    if (ref.view === "stub") return { fh, directIo: true };
    try {
      const { reply, kind } = await this.passthrough.open({
        node,
        fh,
        writable,
        whole: this.#whole(node),
      });
      h.kind = kind;
      return reply;
    } catch (err) {
      this.fileHandles.take(fh);
      node.opens--;
      throw err;
    }
  }

  /** A file's committed content when it is wholly cached and not written here. */
  #whole(node: Node): OpenRequest["whole"] {
    if (node.local !== undefined || !node.content || !this.view.isLocal(node)) return undefined;
    const manifest = this.content.known(node.content);
    if (!manifest || manifest.chunks.length === 0) return undefined;
    return { manifestId: node.content.manifestId, manifest };
  }

  async #manifestOrEio(node: Node) {
    try {
      return await this.content.manifest(node.content!);
    } catch (err) {
      this.log.error("mount: cannot read a file's manifest", {
        path: node.path(),
        manifest: node.content!.manifestId,
        error: (err as Error).message,
      });
      return fail(Errno.EIO);
    }
  }

  #handle(fh: number): FileHandle {
    return this.fileHandles.get(fh) ?? fail(Errno.EBADF);
  }

  /** Read; only the chunks covering the range are fetched for a file that is not local. */
  async read(
    ctx: RequestContext,
    _ino: number,
    fh: number,
    offset: number,
    size: number,
  ): Promise<Uint8Array> {
    const h = this.#handle(fh);
    if (h.text) return h.text.subarray(offset, offset + size);
    const node = h.node;
    if (node.local !== undefined) {
      await this.writes.hold(h, node);
      return await this.writes.withFile(node, (f) => f.read(offset, size));
    }
    if (!node.content || offset >= node.size) return new Uint8Array(0);
    if (h.readerOf !== node.content.manifestId) {
      h.reader?.close();
      h.reader = this.content.reader(await this.#manifestOrEio(node), node.path() ?? node.name);
      h.readerOf = node.content.manifestId;
    }
    let data: Uint8Array;
    try {
      data = await h.reader!.read(offset, size, ctx.signal);
    } catch (err) {
      if (!(err instanceof ChunkReadError)) throw err;
      this.log.error("mount: read failed", {
        path: err.path,
        chunk: err.chunkId,
        error: err.message,
      });
      this.hydrations.end(node, "error");
      return fail(Errno.EIO);
    }
    if (offset + size >= node.size) this.#noteWhole(node);
    return data;
  }

  /**
   * After reads: a file now wholly local shows as such, its hydration ends
   * and its whole file for passthrough opens is made.
   */
  #noteWhole(node: Node): void {
    this.view.noteHydrated(node);
    if (!this.view.isLocal(node)) return;
    this.hydrations.end(node, "ok");
    const whole = this.passthrough.enabled ? this.#whole(node) : undefined;
    if (whole) this.passthrough.prepare(whole.manifestId, whole.manifest, node.path() ?? node.name);
  }

  /** Write into the file's working copy (journaled before the reply). */
  async write(
    ctx: RequestContext,
    _ino: number,
    fh: number,
    offset: number,
    data: Uint8Array,
  ): Promise<number> {
    const h = this.#handle(fh);
    if (!h.writable || h.text) fail(Errno.EBADF);
    h.dirty = true;
    const written = await this.writes.write(h.node, offset, data, ctx.signal);
    await this.writes.hold(h, h.node);
    return written;
  }

  /** close(2): a written file is committed after the configured delay. */
  flush(_ctx: RequestContext, _ino: number, fh: number): Promise<void> {
    if (this.fileHandles.get(fh)?.dirty) this.committer.schedule();
    return Promise.resolve();
  }

  /** Last close of an open file. */
  async release(_ctx: RequestContext, _ino: number, fh: number, _flags: number): Promise<void> {
    const h = this.fileHandles.take(fh);
    if (!h) return;
    h.reader?.close();
    await this.writes.unhold(h.held);
    const node = h.node;
    node.opens--;
    if (h.kind) this.passthrough.release(node, h.kind);
    if (h.dirty) this.committer.schedule();
    if (!node.attached()) await this.dropContentOf(node);
    else if (!h.text) this.#noteWhole(node);
    if (node.opens === 0) this.hydrations.forget(node);
    this.tree.inodes.release(node);
  }

  /** Make a written file durable; its commit follows after the delay. */
  async fsync(_ctx: RequestContext, _ino: number, fh: number): Promise<void> {
    await this.writes.fsync(this.#handle(fh).node);
    this.committer.schedule();
  }

  /** fsync of a directory: the journal holding its entries' changes reaches the disk. */
  async fsyncdir(): Promise<void> {
    await this.journal.append([], true);
  }

  /** Open a directory: its listing is taken now, so readdir offsets stay stable. */
  opendir(_ctx: RequestContext, ino: number): Promise<OpenReply> {
    const node = this.dir(ino);
    for (const child of this.tree.children(node).values()) this.view.recheck(child);
    const entries = listVisible(node, this.view.names, this.view.isStub);
    return Promise.resolve({ fh: this.dirHandles.add({ node, entries }) });
  }

  /** List a directory from cookie `offset`. */
  async readdir(
    _ctx: RequestContext,
    _ino: number,
    fh: number,
    offset: number,
    list: DirList,
  ): Promise<void> {
    const h = this.dirHandles.get(fh) ?? fail(Errno.EBADF);
    await fillDirList(h, offset, list, this.tree.inodes, this.view);
  }

  /** Close a directory. */
  releasedir(_ctx: RequestContext, _ino: number, fh: number): Promise<void> {
    this.dirHandles.take(fh);
    return Promise.resolve();
  }

  /** Space: the chunk cache's quota and what is free of it. */
  statfs(): Promise<StatfsReply> {
    return Promise.resolve(this.content.statfs(this.tree.inodes.size));
  }

  /** Permissions are checked by the kernel (default_permissions). */
  access(): Promise<void> {
    return Promise.resolve();
  }
}
