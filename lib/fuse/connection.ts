/**
 * What the kernel connection offers a file system beyond answering requests:
 * what INIT agreed, cache invalidation ({@linkcode Notifier}) and backing files
 * for passthrough ({@linkcode BackingFiles}). ops.ts re-exports these types.
 *
 * @module
 */

import type { Ino } from "./ops.ts";

/** What INIT agreed, given to `FileSystem.init`. */
export interface InitInfo {
  /** Protocol major version (7). */
  protoMajor: number;
  /** Negotiated protocol minor version. */
  protoMinor: number;
  /** Largest WRITE payload the kernel will send, in bytes. */
  maxWrite: number;
  /** Largest readahead, in bytes. */
  maxReadahead: number;
  /** Whether READDIRPLUS is in use. */
  readdirplus: boolean;
  /** Tells the kernel to drop cached names and data. */
  notifier: Notifier;
  /**
   * Registers backing files for passthrough opens; undefined when passthrough
   * was not asked for (`MountOptions.passthrough`), the kernel does not offer
   * it (older than 7.40 / Linux 6.9, or built without it) or we are not root.
   * Serve every open the ordinary way then.
   */
  backing?: BackingFiles;
}

/**
 * Tells the kernel its caches are stale. Each call resolves true when the
 * kernel applied it and false when it did not (for example the name or inode
 * was not cached, or the mount is gone). The kernel applies an entry
 * notification under the directory's lock, so it waits for requests in flight
 * on that directory: a request handler may call it but must not await it
 * (the request would wait on itself).
 */
export interface Notifier {
  /** Forget the cached name `name` in directory `parent` (and its negative entry). */
  invalEntry(parent: Ino, name: string): Promise<boolean>;
  /**
   * Drop cached attributes of `ino` and its page cache from `offset` for
   * `length` bytes (length 0: to the end; offset -1: attributes only).
   */
  invalInode(ino: Ino, offset?: number, length?: number): Promise<boolean>;
  /** Name `name` in `parent` (inode `child`) was deleted: drop the dentry as `rm` would. */
  delete(parent: Ino, child: Ino, name: string): Promise<boolean>;
}

/**
 * Backing files for FUSE passthrough: a local file registered here gets a
 * backing id; an `OpenReply` (from `open` or `create`) carrying
 * `passthrough: { backingId }` makes the kernel do that open file's reads and
 * writes on the backing file itself, never asking the file system.
 *
 * Rules the kernel imposes:
 * - Keep an id registered until every open that used it was released: the
 *   kernel looks the id up after it received the OPEN reply, so closing it
 *   right after answering can fail that open (EIO).
 * - All passthrough opens of one inode open at the same time must use the
 *   same id (another id fails the open with EBUSY): register one id per inode.
 * - An inode cannot be open through passthrough and through the page cache at
 *   once: while one kind is open, an open of the other kind fails (ETXTBSY/EIO).
 * - The kernel reopens the backing file with the caller's open flags and the
 *   daemon's credentials: an open for writing writes the backing file, and
 *   the file system sees no WRITE (only the attributes it is asked for later).
 */
export interface BackingFiles {
  /**
   * Register the local file at `path` (not inside this mount) and return its
   * backing id. The path is opened read-only only for the registration; the
   * kernel keeps its own reference, so renaming or unlinking the path later
   * does not affect the id. Throws `PassthroughError` (EPERM without
   * CAP_SYS_ADMIN, ELOOP when the file is on a stacked file system deeper than
   * `MountOptions.passthroughStackDepth` allows, ENOENT ...): fall back to an
   * ordinary open then.
   */
  open(path: string): number;
  /** Release backing id `id` (open files that use it keep working). */
  close(id: number): void;
}
