/**
 * A FUSE session: reads requests from the channel off the event loop,
 * dispatches each to the file system as its own promise (never awaiting one
 * before reading the next), answers with writev, maps INTERRUPT to the
 * request's AbortSignal, and negotiates INIT.
 *
 * @module
 */

import {
  InitFlag,
  InitFlag2,
  MAX_MAX_PAGES,
  NotifyCode,
  Opcode,
  opcodeName,
  PAGE_SIZE,
  REQUEST_HEADROOM,
  Size,
} from "./abi.ts";
import { backingFiles } from "./backing.ts";
import { Channel } from "./channel.ts";
import {
  BodyReader,
  decodeInHeader,
  encodeEntryNotify,
  encodeInvalInode,
  type InHeader,
} from "./codec.ts";
import { handlers } from "./dispatch.ts";
import { decodeInitIn, encodeInitOut, negotiateInit, RETRY_INIT_OUT } from "./init.ts";
import { Errno, errnoName, FuseError, MountError } from "./errno.ts";
import { mountChannel, type MountedChannel, setReadahead, unmountPath } from "./mount.ts";
import type {
  BackingFiles,
  FileSystem,
  FuseServer,
  MountOptions,
  Notifier,
  RequestContext,
  UnmountOptions,
} from "./ops.ts";

const MIB = 1024 * 1024;
/** Requests read concurrently (each a blocking read on its own thread). */
const READERS = 2;

/** Serves one file system over one mounted channel. */
export class Session implements FuseServer {
  /** Tells the kernel its caches are stale. */
  readonly notifier: Notifier;
  /** Backing files for passthrough, once INIT agreed passthrough. */
  backing: BackingFiles | undefined = undefined;
  /** Resolves when the session has ended. */
  readonly closed: Promise<void>;
  /** Resolves true once INIT was answered, false if the session ended first. */
  readonly ready: Promise<boolean>;
  private markReady: (ok: boolean) => void = () => {};
  private readonly channel: Channel;
  private readonly pending = new Map<number, AbortController>();
  private readonly maxWrite: number;
  /** Readahead wanted, in bytes (INIT can only lower the kernel's 128 KiB start; see setReadahead). */
  readonly wantedReadahead: number;
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
    this.wantedReadahead = options.maxReadahead ?? MIB;
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
    this.channel.shutdown();
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
        if (parts !== null) this.send(h, 0, parts);
      },
      (e) => {
        this.pending.delete(h.unique);
        this.send(h, this.errnoOf(e, h, controller.signal), []);
      },
    );
  }

  /** Reply; a refusal other than "interrupted, gone" means a malformed reply: report it. */
  private send(h: InHeader, error: number, parts: Uint8Array[]): void {
    const failed = this.channel.reply(h.unique, error, parts);
    if (failed !== 0 && failed !== Errno.ENOENT) {
      const bytes = parts.reduce((n, p) => n + p.length, 0);
      this.report(
        new FuseError(failed, `the kernel refused a ${bytes}-byte reply (${errnoName(failed)})`),
        opcodeName(h.opcode),
        h.unique,
      );
    }
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
    const agreed = negotiateInit(kernel, {
      maxWrite: this.maxWrite,
      maxReadahead: this.wantedReadahead,
      maxBackground: this.options.maxBackground ?? 64,
      readdirplus: this.options.readdirplus === true,
      // Registering a backing file needs CAP_SYS_ADMIN: without root, tell the fs at INIT.
      passthroughStackDepth: this.options.passthrough && Deno.uid() === 0
        ? this.options.passthroughStackDepth ?? 1
        : 0,
    });
    if (agreed === "retry") {
      this.channel.reply(h.unique, 0, [encodeInitOut(RETRY_INIT_OUT)]);
      return;
    }
    if (agreed === "too old") {
      const why =
        `FUSE kernel protocol ${kernel.major}.${kernel.minor} is too old (7.23 or newer needed)`;
      this.report(new FuseError(Errno.EPROTO, why), "INIT", h.unique);
      this.channel.reply(h.unique, Errno.EPROTO, []);
      return;
    }
    if (agreed.flags2 & InitFlag2.PASSTHROUGH) {
      this.backing = backingFiles(this.mounted.fd, this.ended.signal);
    }
    try {
      await this.fs.init?.({
        protoMajor: agreed.major,
        protoMinor: agreed.minor,
        maxWrite: agreed.maxWrite,
        maxReadahead: this.wantedReadahead,
        readdirplus: (agreed.flags & InitFlag.DO_READDIRPLUS) !== 0,
        notifier: this.notifier,
        backing: this.backing,
      });
    } catch (e) {
      this.report(e, "INIT", h.unique);
      this.channel.reply(h.unique, e instanceof FuseError ? e.errno : Errno.EIO, []);
      return;
    }
    this.channel.reply(h.unique, 0, [encodeInitOut(agreed)]);
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
  if (Deno.uid() === 0) await setReadahead(mounted.mountpoint, session.wantedReadahead);
  return session;
}
