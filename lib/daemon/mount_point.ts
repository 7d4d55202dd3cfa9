/**
 * The daemon's checks around a mountpoint: is FUSE usable here, is the
 * directory free (a dead mount left by a killed daemon is detached first),
 * and how many files keep a busy mount open.
 *
 * @module
 */

import { isMounted, unmountPath } from "../fuse/mount.ts";
import { TcfsError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";

/** FUSE cannot work on this machine (no device, no fusermount3): nothing to mount with. */
export class FuseUnavailableError extends TcfsError {}

/** Unmount refused: files in the mount are open (or a process works in it). */
export class MountInUseError extends TcfsError {
  /** Open files and working directories found in the mount. */
  readonly openFiles: number;

  /** Name the mount, how many files hold it, and the ways out. */
  constructor(dir: string, openFiles: number) {
    super(`${dir} is busy: ${openFiles} files open (close them or use --force)`);
    this.openFiles = openFiles;
  }
}

/** Whether an executable named `name` is on PATH. */
async function onPath(name: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    const info = await Deno.stat(`${dir}/${name}`).catch(() => null);
    if (info?.isFile && (info.mode ?? 0) & 0o111) return true;
  }
  return false;
}

/** Reject with {@link FuseUnavailableError} saying what is missing, unless FUSE can mount here. */
export async function assertFuseUsable(): Promise<void> {
  const info = await Deno.stat("/dev/fuse").catch(() => null);
  if (!info?.isCharDevice) {
    throw new FuseUnavailableError(
      "FUSE is not available here: /dev/fuse is missing (load the fuse module, or give the " +
        "container --device /dev/fuse)",
    );
  }
  if (!(await onPath("fusermount3"))) {
    throw new FuseUnavailableError(
      "FUSE is not available here: fusermount3 is not installed (install the fuse3 package)",
    );
  }
}

/**
 * Make `dir` ready to mount on and return its real path. A dead FUSE mount
 * (ENOTCONN: its server was killed and nothing unmounted it) is detached
 * lazily first; a live mount of something else is refused.
 */
export async function prepareMountpoint(dir: string, log: Logger): Promise<string> {
  try {
    await Deno.stat(dir);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOTCONN") {
      throw new TcfsError(`cannot mount on ${dir}: ${(err as Error).message}`, { cause: err });
    }
    log.warn("found a dead mount (its server is gone); detaching it", { dir });
    await unmountPath(dir, { lazy: true });
  }
  const real = await Deno.realPath(dir);
  if (!(await Deno.stat(real)).isDirectory) {
    throw new TcfsError(`cannot mount on ${dir}: not a directory`);
  }
  if (await isMounted(real)) {
    throw new TcfsError(`cannot mount on ${dir}: something else is mounted there (unmount it)`);
  }
  return real;
}

/**
 * Files open in `dir` and processes working in it, counted from /proc (what
 * keeps an unmount busy).
 */
export async function countOpenFiles(dir: string): Promise<number> {
  const inside = (target: string | null) =>
    target !== null && (target === dir || target.startsWith(`${dir}/`));
  const link = (path: string) => Deno.readLink(path).catch(() => null);
  let count = 0;
  for await (const proc of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(proc.name)) continue;
    if (inside(await link(`/proc/${proc.name}/cwd`))) count++;
    try {
      for await (const fd of Deno.readDir(`/proc/${proc.name}/fd`)) {
        if (inside(await link(`/proc/${proc.name}/fd/${fd.name}`))) count++;
      }
    } catch {
      // The process exited, or its descriptors are not ours to see.
    }
  }
  return count;
}
