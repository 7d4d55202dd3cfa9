/**
 * Linux errno values a file system answers with, and the error that carries
 * one from a file system method to the kernel.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";

/** Linux errno numbers (x86_64 and arm64 agree on all of these). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
} as const;

/** One of the {@linkcode Errno} values (any positive errno is accepted on the wire). */
export type ErrnoValue = (typeof Errno)[keyof typeof Errno];

const errnoNames = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

/** Name of an errno ("ENOENT"), or "errno N" for one not in {@linkcode Errno}. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * Thrown by a file system method to answer the kernel with `errno`; the
 * calling process sees that errno. Any other thrown error answers EIO.
 */
export class FuseError extends TcfsError {
  /** Positive Linux errno sent to the kernel. */
  readonly errno: number;

  /** Make an error answering `errno`; the message is for logs only. */
  constructor(errno: number, message?: string, options?: { cause?: unknown }) {
    super(message ?? errnoName(errno), options);
    this.errno = errno;
  }
}

/** Mounting or unmounting failed (no FUSE device, fusermount3 refused, bad mountpoint). */
export class MountError extends TcfsError {
  /** Errno of the failing call, when one is known. */
  readonly errno: number | undefined;

  /** Make a mount error with an actionable message. */
  constructor(message: string, options?: { errno?: number; cause?: unknown }) {
    super(message, options);
    this.errno = options?.errno;
  }
}

/** Unmount refused because files on the mount are open or a process has its cwd there (EBUSY). */
export class MountBusyError extends MountError {
  /** Name the busy mountpoint and the ways out. */
  constructor(mountpoint: string) {
    super(
      `${mountpoint} is busy (files are open or a process works in it); ` +
        `close them, or unmount lazily (--force)`,
      { errno: Errno.EBUSY },
    );
  }
}

/** A backing file for passthrough could not be registered or released; serve the open without it. */
export class PassthroughError extends TcfsError {
  /** Errno of the failing call. */
  readonly errno: number;

  /** Make an error for `errno` with an actionable message. */
  constructor(message: string, errno: number) {
    super(message);
    this.errno = errno;
  }
}
