/**
 * A FUSE session: reads requests from the channel off the event loop,
 * dispatches each to the file system as its own promise (never awaiting one
 * before reading the next), answers with writev, maps INTERRUPT to the
 * request's AbortSignal, and negotiates INIT.
 *
 * @module
 */

import {
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  FUSE_MIN_MINOR_VERSION,
  InitFlag,
  MAX_MAX_PAGES,
  NotifyCode,
  Opcode,
  opcodeName,
  PAGE_SIZE,
  REQUEST_HEADROOM,
  Size,
} from "./abi.ts";
import { Channel } from "./channel.ts";
import {
  BodyReader,
  decodeInHeader,
  decodeInitIn,
  encodeEntryNotify,
  encodeInitOut,
  encodeInvalInode,
  type InHeader,
} from "./codec.ts";
import { handlers } from "./dispatch.ts";
import { Errno, FuseError, MountError } from "./errno.ts";
import { mountChannel, type MountedChannel, unmountPath } from "./mount.ts";
import type {
  FileSystem,
  FuseServer,
  MountOptions,
  Notifier,
  RequestContext,
  UnmountOptions,
} from "./ops.ts";

const MIB = 1024 * 1024;
/** Capabilities asked for when the kernel offers them. WRITEBACK_CACHE stays off: a write reaches the file system before write(2) returns. */
const WANTED_FLAGS = InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.BIG_WRITES |
  InitFlag.AUTO_INVAL_DATA | InitFlag.PARALLEL_DIROPS | InitFlag.MAX_PAGES;
/** Requests read concurrently (each a blocking read on its own thread). */
const READERS = 2;

/** Serves one file system over one mounted channel. */
export class Session implements FuseServer {
  /** Tells the kernel its caches are stale. */
  readonly notifier: Notifier;
  /** Resolves when the session has ended. */
  readonly closed: Promise<void>;
  /** Resolves true once INIT was answered, false if the session ended first. */
  readonly ready: Promise<boolean>;
  private markReady: (ok: boolean) => void = () => {};
  private readonly channel: Channel;
  private readonly pending = new Map<number, AbortController>();
  private readonly maxWrite: number;
  private readonly ended = new AbortController();

  /** Serve `fs` over `mounted`; the read loop starts at once. */
  constructor(
    private readonly fs: FileSystem,
    private readonly mounted: MountedChannel,
    private readonly options: MountOptions = {},
  ) {
    this.channel = new Channel(mounted.fd);
    this.maxWrite = Math.min(
      MAX_MAX_PAGES * PAGE_SIZE,
      Math.max(PAGE_SIZE, options.maxWrite ?? MIB),
    );
    const ch = this.channel;
    this.notifier = {
      invalEntry: (parent, name) =>
        ch.notify(NotifyCode.INVAL_ENTRY, encodeEntryNotify(parent, name)),
      invalInode: (ino, offset = 0, length = 0) =>
        ch.notify(NotifyCode.INVAL_INODE, encodeInvalInode(ino, offset, length)),
      delete: (parent, child, name) =>
        ch.notify(NotifyCode.DELETE, encodeEntryNotify(parent, name, child)),
    };
    this.ready = new Promise((resolve) => this.markReady = resolve);
    this.closed = this.run();
  }

  /** Absolute mountpoint. */
  get mountpoint(): string {
    return this.mounted.mountpoint;
  }

  /** Unmount and wait for the session to end. */
  async unmount(options: UnmountOptions = {}): Promise<void> {
    await unmountPath(this.mounted.mountpoint, options);
    await this.closed;
  }

  private async run(): Promise<void> {
    const size = this.maxWrite + REQUEST_HEADROOM;
    const readers = Array.from({ length: READERS }, () => this.readLoop(new Uint8Array(size)));
    await Promise.all(readers);
    this.markReady(false);
    this.ended.abort(new FuseError(Errno.ENODEV, "the FUSE session ended"));
    for (const c of this.pending.values()) c.abort(this.ended.signal.reason);
    this.mounted.close();
    try {
      await this.fs.destroy?.();
    } catch (e) {
      this.report(e, "DESTROY", 0);
    }
  }

  private async readLoop(buf: Uint8Array<ArrayBuffer>): Promise<void> {
    while (!this.ended.signal.aborted) {
      const n = await this.channel.read(buf);
      if (n < 0) return;
      if (n < Size.IN_HEADER) continue;
      const header = decodeInHeader(buf);
      const body = new BodyReader(buf.subarray(Size.IN_HEADER, Math.min(n, header.len)));
      if (header.opcode === Opcode.INIT) await this.init(header, body);
      else this.dispatch(header, body);
    }
  }

  /** Decode synchronously (the buffer is reused next), then run the handler unawaited. */
  private dispatch(h: InHeader, body: BodyReader): void {
    if (h.opcode === Opcode.INTERRUPT) {
      const target = body.u64();
      const controller = this.pending.get(target);
      if (controller) controller.abort(new FuseError(Errno.EINTR, "interrupted"));
      // Not read yet by the other reader: ask the kernel to send the interrupt again.
      else this.channel.reply(h.unique, Errno.EAGAIN, []);
      return;
    }
    if (h.opcode === Opcode.DESTROY) {
      this.ended.abort();
      this.channel.reply(h.unique, 0, []);
      return;
    }
    const handler = handlers.get(h.opcode);
    if (!handler) {
      this.channel.reply(h.unique, Errno.ENOSYS, []);
      return;
    }
    const controller = new AbortController();
    const ctx: RequestContext = {
      uid: h.uid,
      gid: h.gid,
      pid: h.pid,
      unique: h.unique,
      signal: controller.signal,
    };
    let promise: Promise<Uint8Array[] | null>;
    try {
      promise = handler(this.fs, ctx, h.nodeid, body);
    } catch (e) {
      promise = Promise.reject(e);
    }
    this.pending.set(h.unique, controller);
    promise.then(
      (parts) => {
        this.pending.delete(h.unique);
        if (parts !== null) this.channel.reply(h.unique, 0, parts);
      },
      (e) => {
        this.pending.delete(h.unique);
        this.channel.reply(h.unique, this.errnoOf(e, h, controller.signal), []);
      },
    );
  }

  private errnoOf(e: unknown, h: InHeader, signal: AbortSignal): number {
    if (e instanceof FuseError) return e.errno;
    if (signal.aborted) return Errno.EINTR;
    this.report(e, opcodeName(h.opcode), h.unique);
    return Errno.EIO;
  }

  private report(error: unknown, opcode: string, unique: number): void {
    if (this.options.onError) this.options.onError(error, { opcode, unique });
    else console.error(`fuse ${opcode} #${unique}:`, error);
  }

  private async init(h: InHeader, body: BodyReader): Promise<void> {
    const kernel = decodeInitIn(body);
    if (kernel.major > FUSE_KERNEL_VERSION) {
      // The kernel retries INIT with our major.
      this.channel.reply(h.unique, 0, [encodeInitOut({
        major: FUSE_KERNEL_VERSION,
        minor: FUSE_KERNEL_MINOR_VERSION,
        maxReadahead: 0,
        flags: 0,
        maxBackground: 0,
        congestionThreshold: 0,
        maxWrite: 0,
        timeGran: 0,
        maxPages: 0,
      })]);
      return;
    }
    if (kernel.major < FUSE_KERNEL_VERSION || kernel.minor < FUSE_MIN_MINOR_VERSION) {
      this.report(
        new FuseError(
          Errno.EPROTO,
          `FUSE kernel protocol ${kernel.major}.${kernel.minor} is too old`,
        ),
        "INIT",
        h.unique,
      );
      this.channel.reply(h.unique, Errno.EPROTO, []);
      return;
    }
    const plus = this.options.readdirplus === true;
    const wanted = WANTED_FLAGS | (plus ? InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO : 0);
    const flags = kernel.flags & wanted;
    const maxBackground = this.options.maxBackground ?? 64;
    const maxWrite = flags & InitFlag.MAX_PAGES
      ? this.maxWrite
      : Math.min(this.maxWrite, 32 * PAGE_SIZE);
    const minor = Math.min(kernel.minor, FUSE_KERNEL_MINOR_VERSION);
    const maxReadahead = Math.min(kernel.maxReadahead, this.options.maxReadahead ?? MIB);
    try {
      await this.fs.init?.({
        protoMajor: FUSE_KERNEL_VERSION,
        protoMinor: minor,
        maxWrite,
        maxReadahead,
        readdirplus: (flags & InitFlag.DO_READDIRPLUS) !== 0,
        notifier: this.notifier,
      });
    } catch (e) {
      this.report(e, "INIT", h.unique);
      this.channel.reply(h.unique, e instanceof FuseError ? e.errno : Errno.EIO, []);
      return;
    }
    this.channel.reply(h.unique, 0, [encodeInitOut({
      major: FUSE_KERNEL_VERSION,
      minor,
      maxReadahead,
      flags,
      maxBackground,
      congestionThreshold: Math.max(1, Math.floor((maxBackground * 3) / 4)),
      maxWrite,
      timeGran: 1,
      maxPages: Math.ceil(maxWrite / PAGE_SIZE),
    })]);
    this.markReady(true);
  }
}

/**
 * Mount `fs` at `mountpoint` and serve it until unmounted. Resolves once the
 * kernel's INIT was answered and the mount is usable.
 */
export async function mountFileSystem(
  fs: FileSystem,
  mountpoint: string,
  options: MountOptions = {},
): Promise<FuseServer> {
  const mounted = await mountChannel(mountpoint, options);
  const session = new Session(fs, mounted, options);
  if (!(await session.ready)) {
    throw new MountError(`the FUSE session at ${mounted.mountpoint} ended during INIT`);
  }
  return session;
}
