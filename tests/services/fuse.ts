/**
 * Precondition check for FUSE tests: they must fail loudly, not skip, when the
 * machine cannot mount.
 *
 * @module
 */

import { findExecutable, ServiceError } from "./process.ts";

/** Where {@linkcode assertFuseAvailable} looks; each can be swapped for tests of the check itself. */
export interface FuseCheckOptions {
  /** FUSE character device (default "/dev/fuse"). */
  devicePath?: string;
  /** `fusermount3` name or path (default "fusermount3", looked up on PATH). */
  fusermountPath?: string;
  /** Kernel filesystem list (default "/proc/filesystems"). */
  filesystemsPath?: string;
}

/**
 * Resolve when FUSE mounts can work here: the kernel knows the `fuse`
 * filesystem, `fusermount3` is installed, and the device is a character device
 * this process can open read-write. Otherwise reject with a
 * {@linkcode ServiceError} naming what is missing and how to fix it.
 */
export async function assertFuseAvailable(options: FuseCheckOptions = {}): Promise<void> {
  const {
    devicePath = "/dev/fuse",
    fusermountPath = "fusermount3",
    filesystemsPath = "/proc/filesystems",
  } = options;

  let filesystems: string;
  try {
    filesystems = await Deno.readTextFile(filesystemsPath);
  } catch (e) {
    throw new ServiceError(`FUSE unavailable: cannot read ${filesystemsPath}`, { cause: e });
  }
  if (!filesystems.split("\n").some((line) => line.trim().split(/\s+/).at(-1) === "fuse")) {
    throw new ServiceError(
      `FUSE unavailable: the kernel has no fuse filesystem (${filesystemsPath}); run modprobe fuse`,
    );
  }

  try {
    findExecutable(fusermountPath, "fuse3");
  } catch (e) {
    throw new ServiceError(
      `FUSE unavailable: ${fusermountPath} is not installed; install the Debian package fuse3`,
      { cause: e },
    );
  }

  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(devicePath);
  } catch (e) {
    throw new ServiceError(
      `FUSE unavailable: ${devicePath} does not exist; load the fuse module ` +
        `or give the container the device (--device /dev/fuse)`,
      { cause: e },
    );
  }
  if (info.isCharDevice !== true) {
    throw new ServiceError(`FUSE unavailable: ${devicePath} is not a character device`);
  }
  try {
    const device = await Deno.open(devicePath, { read: true, write: true });
    device.close();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ServiceError(
      `FUSE unavailable: ${devicePath} cannot be opened read-write (${why}); ` +
        `check its permissions or the container's device cgroup`,
      { cause: e },
    );
  }
}
