/**
 * Backing files for FUSE passthrough over the /dev/fuse ioctls
 * BACKING_OPEN and BACKING_CLOSE (see {@linkcode BackingFiles}).
 *
 * @module
 */

import { DevIoctl, Size } from "./abi.ts";
import type { BackingFiles } from "./connection.ts";
import { Errno, PassthroughError } from "./errno.ts";
import { check, cstr, errno, libc, O_CLOEXEC, O_RDONLY, strerror } from "./libc.ts";

function hint(code: number): string {
  if (code === Errno.EPERM) return "; passthrough needs CAP_SYS_ADMIN (run as root)";
  if (code === Errno.ELOOP) {
    return "; the file is on a stacked file system (overlayfs?): mount with passthroughStackDepth 2";
  }
  return "";
}

/**
 * Backing files registered on the FUSE connection `fd` (whose INIT agreed
 * passthrough) while `ended` is not aborted; afterwards the descriptor number
 * may name another file, so nothing is sent (the kernel dropped every id with
 * the connection).
 */
export function backingFiles(fd: number, ended: AbortSignal): BackingFiles {
  const c = libc();
  return {
    open(path: string): number {
      if (ended.aborted) {
        throw new PassthroughError(
          `the FUSE session ended; cannot register ${path}`,
          Errno.ENOTCONN,
        );
      }
      let file: number;
      try {
        file = check("open", c.open(cstr(path), O_RDONLY | O_CLOEXEC, 0));
      } catch (e) {
        const code = (e as { code?: number }).code ?? Errno.EIO;
        throw new PassthroughError(`cannot open backing file ${path}: ${strerror(code)}`, code);
      }
      try {
        const map = new Uint8Array(Size.BACKING_MAP); // { i32 fd; u32 flags; u64 padding }
        new DataView(map.buffer).setInt32(0, file, true);
        const id = c.ioctl(fd, BigInt(DevIoctl.BACKING_OPEN), map);
        if (id < 0) {
          const code = errno();
          throw new PassthroughError(
            `cannot register backing file ${path}: ${strerror(code)}${hint(code)}`,
            code,
          );
        }
        return id;
      } finally {
        // The kernel holds its own reference to the file once registered.
        c.close(file);
      }
    },
    close(id: number): void {
      if (ended.aborted) return;
      const arg = new Uint8Array(4);
      new DataView(arg.buffer).setUint32(0, id, true);
      if (c.ioctl(fd, BigInt(DevIoctl.BACKING_CLOSE), arg) < 0) {
        const code = errno();
        throw new PassthroughError(`cannot release backing id ${id}: ${strerror(code)}`, code);
      }
    },
  };
}
