/**
 * A {@linkcode MemFs} some of whose files live in real local files, served by
 * FUSE passthrough when the mount agreed it (the kernel reads and writes the
 * local file itself) and through READ/WRITE requests otherwise: the test and
 * benchmark file system of passthrough.
 *
 * @module
 */

import {
  type AttrReply,
  type BackingFiles,
  type EntryReply,
  Errno,
  FuseError,
  type InitInfo,
  type Ino,
  type NegativeEntryReply,
  type OpenReply,
  PassthroughError,
  type RequestContext,
} from "../ops.ts";
import { MemFs, type MemFsOptions } from "./memfs.ts";

/** One backing id shared by all open passthrough handles of an inode (the kernel demands it). */
interface SharedBacking {
  id: number;
  handles: number;
}

/** A MemFs with files backed by local paths. */
export class BackedFs extends MemFs {
  /** Backing paths by inode. */
  readonly paths: Map<Ino, string> = new Map();
  /** Backing files, when the mount agreed passthrough. */
  backing?: BackingFiles;
  /** Opens answered with passthrough. */
  passthroughOpens = 0;
  /** READ and WRITE requests that reached this file system for backed files. */
  ioRequests = 0;
  private readonly shared = new Map<Ino, SharedBacking>();
  /** Open handles of backed files without passthrough: fh to [inode, local file]. */
  private readonly files = new Map<number, [Ino, Deno.FsFile]>();
  /** Per handle, the previous seek+read/write, so they do not interleave. */
  private readonly queues = new Map<number, Promise<unknown>>();
  private nextBackedFh = 2 ** 40;

  /** An empty file system; `options` as for MemFs. */
  constructor(options: MemFsOptions = {}) {
    super(options);
  }

  /** Name `name` in `parent` a file whose content is the local file at `path`. */
  async putBacked(parent: Ino, name: string, path: string): Promise<Ino> {
    const ino = this.putFile(parent, name, new Uint8Array(0));
    this.paths.set(ino, path);
    await this.refresh(ino);
    return ino;
  }

  override init(info: InitInfo): void {
    super.init(info);
    this.backing = info.backing;
  }

  /** Take size and times of a backed inode from its local file. */
  private async refresh(ino: Ino): Promise<void> {
    const path = this.paths.get(ino);
    if (path === undefined) return;
    const st = await Deno.stat(path);
    const a = this.node(ino).attr;
    a.size = st.size;
    a.mtime = st.mtime?.getTime() ?? a.mtime;
  }

  override async lookup(
    ctx: RequestContext,
    parent: Ino,
    name: string,
  ): Promise<EntryReply | NegativeEntryReply> {
    const ino = this.dir(parent).get(name);
    if (ino !== undefined) await this.refresh(ino);
    return super.lookup(ctx, parent, name);
  }

  override async getattr(ctx: RequestContext, ino: Ino): Promise<AttrReply> {
    await this.refresh(ino);
    return super.getattr(ctx, ino);
  }

  override async open(ctx: RequestContext, ino: Ino, flags = 0): Promise<OpenReply> {
    const path = this.paths.get(ino);
    if (path === undefined) return super.open(ctx, ino);
    const fh = this.nextBackedFh++;
    const shared = this.backingFor(ino, path);
    if (shared) {
      shared.handles++;
      this.passthroughOpens++;
      return { fh, passthrough: { backingId: shared.id } };
    }
    const write = (flags & 3) !== 0;
    this.files.set(fh, [ino, await Deno.open(path, { read: true, write })]);
    return { fh, keepCache: false };
  }

  /** The inode's backing id, registered on first use; undefined when passthrough is unavailable. */
  private backingFor(ino: Ino, path: string): SharedBacking | undefined {
    if (!this.backing) return undefined;
    let shared = this.shared.get(ino);
    if (!shared) {
      try {
        shared = { id: this.backing.open(path), handles: 0 };
      } catch (e) {
        if (e instanceof PassthroughError) return undefined;
        throw e;
      }
      this.shared.set(ino, shared);
    }
    return shared;
  }

  /** Run `op` on handle `fh`'s local file after the handle's previous operation. */
  private onFile<T>(fh: number, op: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    const entry = this.files.get(fh);
    if (!entry) throw new FuseError(Errno.EBADF);
    this.ioRequests++;
    const run = (this.queues.get(fh) ?? Promise.resolve()).then(() => op(entry[1]));
    this.queues.set(fh, run.catch(() => {}));
    return run;
  }

  override read(
    ctx: RequestContext,
    ino: Ino,
    fh: number,
    offset: number,
    size: number,
  ): Promise<Uint8Array> {
    if (!this.paths.has(ino)) return super.read(ctx, ino, fh, offset, size);
    return this.onFile(fh, async (file) => {
      await file.seek(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(size);
      let got = 0;
      while (got < size) {
        const n = await file.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      return buf.subarray(0, got);
    });
  }

  override write(
    ctx: RequestContext,
    ino: Ino,
    fh: number,
    offset: number,
    data: Uint8Array,
  ): Promise<number> {
    if (!this.paths.has(ino)) return super.write(ctx, ino, fh, offset, data);
    return this.onFile(fh, async (file) => {
      await file.seek(offset, Deno.SeekMode.Start);
      for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
      return data.length;
    });
  }

  release(_ctx: RequestContext, ino: Ino, fh: number): Promise<void> {
    const entry = this.files.get(fh);
    if (entry) {
      this.files.delete(fh);
      this.queues.delete(fh);
      entry[1].close();
      return Promise.resolve();
    }
    const s = this.shared.get(ino);
    if (s && --s.handles === 0) {
      this.shared.delete(ino);
      this.backing?.close(s.id);
    }
    return Promise.resolve();
  }
}
