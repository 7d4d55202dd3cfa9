/**
 * Numbers of the Linux FUSE kernel protocol (include/uapi/linux/fuse.h):
 * opcodes, flags and the sizes of the fixed structs. Layouts themselves are
 * in codec.ts.
 *
 * @module
 */

/** Protocol major version spoken. */
export const FUSE_KERNEL_VERSION = 7;
/**
 * Highest protocol minor version this implementation understands; the kernel's
 * is negotiated down to it. 7.40 brought passthrough (init_out.max_stack_depth,
 * open_out.backing_id, both read by the kernel only with the passthrough flags).
 * Its other additions need flags this layer never sets (DIRECT_IO_ALLOW_MMAP,
 * HAS_RESEND) or opcodes it answers ENOSYS to (STATX, after which the kernel
 * uses GETATTR); 7.41+ (idmap, io_uring, timeouts, epochs, COPY_FILE_RANGE_64)
 * stays off by speaking 7.40.
 */
export const FUSE_KERNEL_MINOR_VERSION = 40;
/** Oldest minor version with passthrough (backing files). */
export const FUSE_PASSTHROUGH_MINOR_VERSION = 40;
/** Oldest minor version accepted (full-size entry/attr/init structs, umask, BIG_WRITES). */
export const FUSE_MIN_MINOR_VERSION = 23;

/** Request opcodes. */
export const Opcode = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
} as const;

const opcodeNames = new Map<number, string>(Object.entries(Opcode).map(([k, v]) => [v, k]));

/** Name of an opcode ("LOOKUP"), or "OPCODE_N" for an unknown one. */
export function opcodeName(opcode: number): string {
  return opcodeNames.get(opcode) ?? `OPCODE_${opcode}`;
}

/** Codes of kernel notifications (sent with unique 0, the code in the error field). */
export const NotifyCode = {
  POLL: 1,
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  STORE: 4,
  RETRIEVE: 5,
  DELETE: 6,
} as const;

/** INIT flags (fuse_init_in.flags / fuse_init_out.flags, low 32 bits). */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  POSIX_LOCKS: 1 << 1,
  ATOMIC_O_TRUNC: 1 << 3,
  EXPORT_SUPPORT: 1 << 4,
  BIG_WRITES: 1 << 5,
  DONT_MASK: 1 << 6,
  FLOCK_LOCKS: 1 << 10,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14,
  ASYNC_DIO: 1 << 15,
  WRITEBACK_CACHE: 1 << 16,
  PARALLEL_DIROPS: 1 << 18,
  HANDLE_KILLPRIV: 1 << 19,
  ABORT_ERROR: 1 << 21,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
  EXPLICIT_INVAL_DATA: 1 << 25,
  INIT_EXT: 1 << 30,
} as const;

/** INIT flags2 (the high 32 bits of the 64-bit flags; only valid with InitFlag.INIT_EXT). */
export const InitFlag2 = {
  /** FUSE_PASSTHROUGH (bit 37): open files may be backed by a local file the kernel reads directly. */
  PASSTHROUGH: 1 << (37 - 32),
} as const;

/** Deepest file-system stacking the kernel allows (FILESYSTEM_MAX_STACK_DEPTH). */
export const MAX_STACK_DEPTH = 2;

/** ioctls of /dev/fuse: _IOW(229, nr, size) = 1 << 30 | size << 16 | 229 << 8 | nr. */
export const DevIoctl = {
  /** Register a backing file: argument struct fuse_backing_map { i32 fd; u32 flags; u64 padding }. */
  BACKING_OPEN: 0x4010e501,
  /** Release a backing id: argument u32. */
  BACKING_CLOSE: 0x4004e502,
} as const;

/** fuse_open_out.open_flags. */
export const OpenFlag = {
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  NONSEEKABLE: 1 << 2,
  CACHE_DIR: 1 << 3,
  /** Reads and writes go to the backing file named by fuse_open_out.backing_id. */
  PASSTHROUGH: 1 << 7,
} as const;

/** fuse_setattr_in.valid bits. */
export const SetattrValid = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  CTIME: 1 << 10,
} as const;

/** fuse_getattr_in.getattr_flags: `fh` is valid. */
export const GETATTR_FH = 1;
/** fuse_fsync_in.fsync_flags: data only. */
export const FSYNC_FDATASYNC = 1;

/** Sizes in bytes of the fixed structs. */
export const Size = {
  IN_HEADER: 40,
  OUT_HEADER: 16,
  ATTR: 88,
  ENTRY_OUT: 128,
  ATTR_OUT: 104,
  OPEN_OUT: 16,
  WRITE_OUT: 8,
  STATFS_OUT: 80,
  GETXATTR_OUT: 8,
  INIT_IN: 64,
  INIT_OUT: 64,
  BACKING_MAP: 16,
  WRITE_IN: 40,
  READ_IN: 40,
  SETATTR_IN: 88,
  DIRENT_HEADER: 24,
  NOTIFY_INVAL_INODE_OUT: 24,
  NOTIFY_INVAL_ENTRY_OUT: 16,
  NOTIFY_DELETE_OUT: 24,
} as const;

/** Largest number of pages per request the kernel accepts in INIT (FUSE_MAX_MAX_PAGES). */
export const MAX_MAX_PAGES = 256;
/** Page size assumed for max_pages (x86_64 and most arm64 kernels). */
export const PAGE_SIZE = 4096;
/** Smallest read buffer the kernel accepts. */
export const MIN_READ_BUFFER = 8192;
/** Room a request needs besides its WRITE payload: in header + write_in, rounded up generously. */
export const REQUEST_HEADROOM = 4096 + 80;
