/**
 * The file-system interface the FUSE session calls: low-level and inode based,
 * in the spirit of libfuse's lowlevel API.
 *
 * How to implement a file system:
 *
 * - Inode numbers are `number`s you choose; the root directory is
 *   {@linkcode ROOT_INO} (1). The kernel learns an inode from a reply that
 *   carries an {@linkcode EntryReply} (lookup, mkdir, mknod, symlink, link,
 *   create, readdirplus entries); each such reply adds one to that inode's
 *   lookup count, and {@linkcode FileSystem.forget} takes `nlookup` away again.
 *   Keep an inode while its count is above zero, even after it was unlinked.
 * - Implement the methods you need; every one is optional and may be async.
 *   An absent method answers ENOSYS, except `opendir`/`releasedir`/`release`
 *   (succeed with fh 0) and `statfs` (an empty file system). Requests run
 *   concurrently: the session never awaits one request before dispatching the
 *   next, so a slow `open` or `read` delays only its own caller.
 * - To fail, throw `new FuseError(Errno.ENOENT)`; any other thrown error
 *   answers EIO and goes to the `onError` hook of {@linkcode MountOptions}.
 * - `ctx.signal` aborts when the calling process is interrupted (INTERRUPT);
 *   give up then by throwing (the caller sees EINTR), or finish normally.
 * - The kernel caches what you answer for the TTLs you give. When the truth
 *   changes behind its back (a remote change, `name.tc` became `name`), tell
 *   it through the {@linkcode Notifier} (`init` receives it, and so does the
 *   {@linkcode FuseServer} handle).
 * - The process serving a mount must not use it synchronously: a `*Sync`
 *   file call, `FsFile.close()` or a child spawned with its cwd inside the
 *   mount blocks the event loop that would answer the kernel (a deadlock).
 *   Async Deno file APIs are fine: they run on other threads.
 * - `open` without `keepCache` drops the kernel page cache of the file; set
 *   `keepCache: true` once the content is stable, or reads in progress by
 *   other processes lose their cached pages mid-read.
 * - A file whose content is a local file can skip the daemon entirely: mount
 *   with `passthrough: true`, register the local file with
 *   `InitInfo.backing.open(path)` and answer `open` with
 *   `passthrough: { backingId }`; the kernel then reads and writes the local
 *   file itself (see {@linkcode BackingFiles} for the rules). Without root or
 *   on kernels before 6.9, `backing` is undefined: serve opens as usual.
 *
 * Mount with `mountFileSystem(fs, mountpoint, options)` from `lib/fuse/mod.ts`.
 *
 * @module
 */

import type { InitInfo } from "./connection.ts";

export {
  Errno,
  errnoName,
  type ErrnoValue,
  FuseError,
  MountBusyError,
  MountError,
  PassthroughError,
} from "./errno.ts";
export type { FuseServer, MountOptions, UnmountOptions } from "./server.ts";
export type { BackingFiles, InitInfo, Notifier } from "./connection.ts";

/** An inode number; {@linkcode ROOT_INO} is the mount's root directory. */
export type Ino = number;

/** The root directory's inode number. */
export const ROOT_INO: Ino = 1;

/** File type bits of `mode` (as in `stat.st_mode & S_IFMT`). */
export const FileType = {
  S_IFMT: 0o170000,
  S_IFSOCK: 0o140000,
  S_IFLNK: 0o120000,
  S_IFREG: 0o100000,
  S_IFBLK: 0o060000,
  S_IFDIR: 0o040000,
  S_IFCHR: 0o020000,
  S_IFIFO: 0o010000,
} as const;

/** Who asked, and whether they still want the answer. */
export interface RequestContext {
  /** Effective uid of the calling process. */
  readonly uid: number;
  /** Effective gid of the calling process. */
  readonly gid: number;
  /** Process id of the caller (0 for kernel-internal requests such as writeback). */
  readonly pid: number;
  /** The kernel's request id. */
  readonly unique: number;
  /** Aborted when the kernel sends INTERRUPT for this request or the session ends. */
  readonly signal: AbortSignal;
}

/** A point in time with nanoseconds, exact as the kernel gives it. */
export interface Timespec {
  /** Whole seconds since the epoch. */
  sec: number;
  /** Nanoseconds, 0..999,999,999. */
  nsec: number;
}

/** A time in an {@linkcode Attr}: milliseconds since the epoch (fractions kept to ~1 us) or a {@linkcode Timespec}. */
export type AttrTime = number | Timespec;

/** File attributes, as `stat(2)` shows them. */
export interface Attr {
  /** Inode number. */
  ino: Ino;
  /** Size in bytes. */
  size: number;
  /** 512-byte blocks allocated (default: size rounded up to 512-byte blocks). */
  blocks?: number;
  /** Last access. */
  atime: AttrTime;
  /** Last content change. */
  mtime: AttrTime;
  /** Last status change. */
  ctime: AttrTime;
  /** Type and permission bits, e.g. `FileType.S_IFREG | 0o644`. */
  mode: number;
  /** Hard link count. */
  nlink: number;
  /** Owner uid. */
  uid: number;
  /** Owner gid. */
  gid: number;
  /** Device number for device nodes (default 0). */
  rdev?: number;
  /** Preferred I/O size (default 4096). */
  blksize?: number;
}

/** A name resolved to an inode (adds one to the inode's lookup count). */
export interface EntryReply {
  /** Attributes; `attr.ino` is the inode the name refers to. */
  attr: Attr;
  /** How long the kernel may cache the name-to-inode binding, in ms. */
  entryTtlMs: number;
  /** How long the kernel may cache `attr`, in ms. */
  attrTtlMs: number;
  /** Generation; with `ino` unique over the file system's lifetime (default 0). */
  generation?: number;
}

/** A lookup answer "no such name", cached by the kernel for `entryTtlMs` (a negative dentry). */
export interface NegativeEntryReply {
  /** Marks the negative answer. */
  negative: true;
  /** How long the kernel may remember that the name does not exist, in ms. */
  entryTtlMs: number;
}

/** Attributes of an inode with their cache lifetime. */
export interface AttrReply {
  /** The attributes. */
  attr: Attr;
  /** How long the kernel may cache them, in ms (0: ask every time). */
  ttlMs: number;
}

/** An open file or directory. */
export interface OpenReply {
  /** File handle passed back to read/write/flush/release (any safe integer). */
  fh: number;
  /** Keep the kernel page cache from earlier opens (set once the content is stable). */
  keepCache?: boolean;
  /** Bypass the page cache: every read/write reaches the file system with the caller's size. */
  directIo?: boolean;
  /** The file cannot seek (a stream). */
  nonSeekable?: boolean;
  /** For opendir: the kernel may cache the directory listing. */
  cacheDir?: boolean;
  /**
   * Serve this open file from a backing file registered with
   * {@linkcode BackingFiles.open}: the kernel reads and writes it directly and
   * READ/WRITE never reach the file system (only when {@linkcode InitInfo.backing}
   * is set). `keepCache`, `directIo`, `nonSeekable` and `cacheDir` are ignored then.
   */
  passthrough?: { backingId: number };
}

/** The reply to `create`: the new name and the open file. */
export interface CreateReply {
  /** The created entry. */
  entry: EntryReply;
  /** The open file. */
  open: OpenReply;
}

/** One directory entry. */
export interface DirEntry {
  /** Inode number (informational; the kernel looks the name up for the real one). */
  ino: Ino;
  /** Entry name (not containing "/"). */
  name: string;
  /** File type bits (`FileType.S_IFDIR`, ...; other mode bits are ignored). */
  type: number;
  /** Cookie of the NEXT entry: readdir at this offset continues after this entry. */
  offset: number;
}

/**
 * Where `readdir` puts entries. Each `add` returns false when the reply is
 * full and the entry was NOT added; stop then (the kernel asks again at that
 * entry's predecessor's `offset`).
 */
export interface DirList {
  /** Add an entry; false when it did not fit. */
  add(entry: DirEntry): boolean;
  /**
   * For READDIRPLUS: add an entry with its lookup answer; false when it did not
   * fit. An added entry other than "." and ".." counts as one lookup of `entry.attr.ino`.
   */
  addPlus(entry: DirEntry, lookup: EntryReply): boolean;
  /** True when the kernel asked with READDIRPLUS (use `addPlus`); false for READDIR. */
  readonly plus: boolean;
}

/** File system statistics, as `statfs(2)` shows them. */
export interface StatfsReply {
  /** Total blocks of `frsize` bytes. */
  blocks: number;
  /** Free blocks. */
  bfree: number;
  /** Free blocks available to unprivileged users. */
  bavail: number;
  /** Total inodes. */
  files: number;
  /** Free inodes. */
  ffree: number;
  /** Block size. */
  bsize: number;
  /** Maximum name length. */
  namelen: number;
  /** Fragment size (default `bsize`). */
  frsize?: number;
}

/** What a `setattr` changes; absent fields stay as they are. */
export interface SetAttrChanges {
  /** New permission bits (and type bits, which must not change). */
  mode?: number;
  /** New owner. */
  uid?: number;
  /** New group. */
  gid?: number;
  /** New size (truncate or extend). */
  size?: number;
  /** New access time, or "now". */
  atime?: Timespec | "now";
  /** New modification time, or "now". */
  mtime?: Timespec | "now";
  /** New change time (rarely sent). */
  ctime?: Timespec;
  /** Handle of the open file this came through (ftruncate, futimens), if any. */
  fh?: number;
}

/** A file system the FUSE session serves. Every method is optional; see the module doc. */
export interface FileSystem {
  /** After INIT, before any other request. */
  init?(info: InitInfo): void | Promise<void>;
  /** When the session ends (unmount or DESTROY). */
  destroy?(): void | Promise<void>;
  /** Resolve `name` in directory `parent`. */
  lookup?(ctx: RequestContext, parent: Ino, name: string): Promise<EntryReply | NegativeEntryReply>;
  /** The kernel dropped `nlookup` references to `ino` (no reply; BATCH_FORGET arrives here too). */
  forget?(ino: Ino, nlookup: number): void;
  /** Attributes of `ino`; `fh` when asked through an open file (fstat). */
  getattr?(ctx: RequestContext, ino: Ino, fh?: number): Promise<AttrReply>;
  /** Change attributes (chmod, chown, truncate, utimens). */
  setattr?(ctx: RequestContext, ino: Ino, changes: SetAttrChanges): Promise<AttrReply>;
  /** Target of a symbolic link. */
  readlink?(ctx: RequestContext, ino: Ino): Promise<string | Uint8Array>;
  /** Create a regular file, FIFO, socket or device node (`mode` has the type bits; umask already applied unless DONT_MASK). */
  mknod?(
    ctx: RequestContext,
    parent: Ino,
    name: string,
    mode: number,
    rdev: number,
    umask: number,
  ): Promise<EntryReply>;
  /** Create a directory. */
  mkdir?(
    ctx: RequestContext,
    parent: Ino,
    name: string,
    mode: number,
    umask: number,
  ): Promise<EntryReply>;
  /** Remove a non-directory name. */
  unlink?(ctx: RequestContext, parent: Ino, name: string): Promise<void>;
  /** Remove an empty directory. */
  rmdir?(ctx: RequestContext, parent: Ino, name: string): Promise<void>;
  /** Create a symbolic link `name` in `parent` pointing at `target`. */
  symlink?(ctx: RequestContext, parent: Ino, name: string, target: string): Promise<EntryReply>;
  /**
   * Rename; `flags` are renameat2 flags (`RENAME_NOREPLACE` 1, `RENAME_EXCHANGE` 2,
   * `RENAME_WHITEOUT` 4); answer EINVAL for flags you do not support.
   */
  rename?(
    ctx: RequestContext,
    parent: Ino,
    name: string,
    newParent: Ino,
    newName: string,
    flags: number,
  ): Promise<void>;
  /** Make a hard link `newName` in `newParent` to `ino`. */
  link?(ctx: RequestContext, ino: Ino, newParent: Ino, newName: string): Promise<EntryReply>;
  /** Open a file; `flags` are open(2) flags (O_CREAT/O_EXCL/O_NOCTTY removed by the kernel). */
  open?(ctx: RequestContext, ino: Ino, flags: number): Promise<OpenReply>;
  /** Read up to `size` bytes at `offset`; fewer only at end of file. */
  read?(
    ctx: RequestContext,
    ino: Ino,
    fh: number,
    offset: number,
    size: number,
  ): Promise<Uint8Array>;
  /** Write `data` at `offset`; answer how many bytes were written (all of them, normally). */
  write?(
    ctx: RequestContext,
    ino: Ino,
    fh: number,
    offset: number,
    data: Uint8Array,
  ): Promise<number>;
  /** close(2) of one file descriptor of an open file (may come several times per open). */
  flush?(ctx: RequestContext, ino: Ino, fh: number, lockOwner: number): Promise<void>;
  /** The last reference to an open file went away; the kernel ignores errors. */
  release?(ctx: RequestContext, ino: Ino, fh: number, flags: number): Promise<void>;
  /** Make the file durable (`datasync`: data only). */
  fsync?(ctx: RequestContext, ino: Ino, fh: number, datasync: boolean): Promise<void>;
  /** Open a directory (absent: succeeds with fh 0). */
  opendir?(ctx: RequestContext, ino: Ino, flags: number): Promise<OpenReply>;
  /** List directory entries after cookie `offset` (0: from the start) into `list`. */
  readdir?(
    ctx: RequestContext,
    ino: Ino,
    fh: number,
    offset: number,
    list: DirList,
  ): Promise<void>;
  /** Close a directory (absent: succeeds). */
  releasedir?(ctx: RequestContext, ino: Ino, fh: number): Promise<void>;
  /** fsync(2) of a directory. */
  fsyncdir?(ctx: RequestContext, ino: Ino, fh: number, datasync: boolean): Promise<void>;
  /** File system statistics (absent: an empty file system). */
  statfs?(ctx: RequestContext, ino: Ino): Promise<StatfsReply>;
  /** access(2) check with `mask` of R_OK 4, W_OK 2, X_OK 1 (F_OK 0). */
  access?(ctx: RequestContext, ino: Ino, mask: number): Promise<void>;
  /** Create and open a regular file (absent: the kernel uses mknod + open). */
  create?(
    ctx: RequestContext,
    parent: Ino,
    name: string,
    mode: number,
    flags: number,
    umask: number,
  ): Promise<CreateReply>;
  /** Allocate or punch space (fallocate(2) `mode`). */
  fallocate?(
    ctx: RequestContext,
    ino: Ino,
    fh: number,
    offset: number,
    length: number,
    mode: number,
  ): Promise<void>;
  /** Value of extended attribute `name` (throw ENODATA when absent); the session handles size probes and ERANGE. */
  getxattr?(ctx: RequestContext, ino: Ino, name: string): Promise<Uint8Array>;
  /** Names of the extended attributes of `ino`. */
  listxattr?(ctx: RequestContext, ino: Ino): Promise<string[]>;
  /** Set extended attribute `name` (`flags`: XATTR_CREATE 1, XATTR_REPLACE 2). */
  setxattr?(
    ctx: RequestContext,
    ino: Ino,
    name: string,
    value: Uint8Array,
    flags: number,
  ): Promise<void>;
  /** Remove extended attribute `name`. */
  removexattr?(ctx: RequestContext, ino: Ino, name: string): Promise<void>;
}
