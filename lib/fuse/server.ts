/**
 * How a file system is mounted and the handle of a mounted one (the session
 * implements it; ops.ts re-exports these types).
 *
 * @module
 */

import type { BackingFiles, Notifier } from "./ops.ts";

/** How to mount; every field is optional. */
export interface MountOptions {
  /** File system name shown in /proc/mounts (default "fuse"). */
  fsName?: string;
  /** Subtype: the mount shows as `fuse.<subtype>` (default none). */
  subtype?: string;
  /** Let other users than the mounter in (`allow_other`; default false). */
  allowOther?: boolean;
  /** Let the kernel check permissions from mode/uid/gid (`default_permissions`; default true). */
  defaultPermissions?: boolean;
  /** Mount read-only. */
  readOnly?: boolean;
  /**
   * "fusermount": through `fusermount3` with `auto_unmount`, so the mount goes
   * away when this process dies, even by SIGKILL (default). "syscall": mount(2)
   * directly (root only); after SIGKILL such a mount stays until `umount -l`.
   */
  method?: "fusermount" | "syscall";
  /** Largest WRITE the kernel may send (default 1 MiB; clamped to 4 KiB..1 MiB). */
  maxWrite?: number;
  /** Largest readahead (default 1 MiB). */
  maxReadahead?: number;
  /** Ask for READDIRPLUS when the file system's readdir uses `addPlus` (default false). */
  readdirplus?: boolean;
  /**
   * Ask for FUSE passthrough (kernel 7.40+, root): the file system then gets
   * `InitInfo.backing` to serve opens from local backing files (default false).
   */
  passthrough?: boolean;
  /**
   * With `passthrough`: 1 when backing files are on a plain file system
   * (default); 2 to allow backing files on overlayfs, at the price that
   * nothing can be stacked on this mount.
   */
  passthroughStackDepth?: 1 | 2;
  /** Requests the kernel keeps in flight in the background (default 64). */
  maxBackground?: number;
  /** Called with errors that answered EIO and with failures of the channel itself. */
  onError?: (error: unknown, context: { opcode: string; unique: number }) => void;
}

/** Options of {@linkcode FuseServer.unmount}. */
export interface UnmountOptions {
  /** Detach even while busy; the mount disappears once unused (`umount -l`). */
  lazy?: boolean;
}

/** A mounted, running file system. */
export interface FuseServer {
  /** Absolute path of the mountpoint. */
  readonly mountpoint: string;
  /** Tells the kernel its caches are stale. */
  readonly notifier: Notifier;
  /** Backing files for passthrough opens, when INIT agreed passthrough (see `InitInfo.backing`). */
  readonly backing: BackingFiles | undefined;
  /** Resolves when the session has ended (unmounted from here or elsewhere). */
  readonly closed: Promise<void>;
  /**
   * Unmount and wait for the session to end. Rejects with a `MountBusyError`
   * (errno EBUSY) when files are open, unless `lazy`.
   */
  unmount(options?: UnmountOptions): Promise<void>;
}
