/**
 * Mounting and unmounting a FUSE file system: obtaining the /dev/fuse
 * channel either from `fusermount3` (with `auto_unmount`, so the mount goes
 * away when this process dies) or, as root, from mount(2) directly.
 *
 * @module
 */

import { Errno, MountBusyError, MountError } from "./errno.ts";
import {
  AF_UNIX,
  check,
  cstr,
  errno,
  F_SETFD,
  libc,
  MNT_DETACH,
  MS_NODEV,
  MS_NOSUID,
  MS_RDONLY,
  MSG_CMSG_CLOEXEC,
  O_CLOEXEC,
  O_RDWR,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  strerror,
} from "./libc.ts";
import type { MountOptions, UnmountOptions } from "./ops.ts";

/** An established mount: the channel descriptor and how to let go of it. */
export interface MountedChannel {
  /** /dev/fuse descriptor of the connection (close-on-exec). */
  readonly fd: number;
  /** Absolute mountpoint. */
  readonly mountpoint: string;
  /** How it was mounted. */
  readonly method: "fusermount" | "syscall";
  /** Close the channel (and the fusermount3 link, which then unmounts if still mounted). */
  close(): void;
}

function mountOptionList(o: MountOptions): string[] {
  const opts = [`fsname=${o.fsName ?? "fuse"}`];
  if (o.subtype) opts.push(`subtype=${o.subtype}`);
  if (o.allowOther) opts.push("allow_other");
  if (o.defaultPermissions ?? true) opts.push("default_permissions");
  if (o.readOnly) opts.push("ro");
  return opts;
}

function assertOptionSafe(value: string | undefined, what: string): void {
  if (value !== undefined && /[,=\s\\]/.test(value)) {
    throw new MountError(`${what} "${value}" may not contain commas, '=', spaces or backslashes`);
  }
}

/** Mount an empty FUSE file system at `mountpoint` and return its channel. */
export async function mountChannel(
  mountpoint: string,
  options: MountOptions = {},
): Promise<MountedChannel> {
  assertOptionSafe(options.fsName, "fsName");
  assertOptionSafe(options.subtype, "subtype");
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(mountpoint);
  } catch (e) {
    if (e instanceof Deno.errors.NotConnected) {
      throw new MountError(
        `${mountpoint} is a dead FUSE mount (its server died); unmount it lazily first ` +
          `(umount -l, or unmountPath with lazy)`,
        { errno: Errno.ENOTCONN, cause: e },
      );
    }
    throw new MountError(`cannot mount on ${mountpoint}: ${(e as Error).message}`, { cause: e });
  }
  if (!info.isDirectory) throw new MountError(`cannot mount on ${mountpoint}: not a directory`);
  const abs = await Deno.realPath(mountpoint);
  const method = options.method ?? "fusermount";
  return method === "syscall"
    ? mountBySyscall(abs, options)
    : await mountByFusermount(abs, options);
}

function mountBySyscall(mountpoint: string, options: MountOptions): MountedChannel {
  const c = libc();
  let fd: number;
  try {
    fd = check("open /dev/fuse", c.open(cstr("/dev/fuse"), O_RDWR | O_CLOEXEC, 0));
  } catch (e) {
    throw new MountError(`cannot open /dev/fuse (${(e as Error).message}); load the fuse module`, {
      cause: e,
    });
  }
  const data = [
    `fd=${fd}`,
    "rootmode=40000",
    `user_id=${Deno.uid() ?? 0}`,
    `group_id=${Deno.gid() ?? 0}`,
    ...mountOptionList(options).filter((o) =>
      !o.startsWith("fsname=") && o !== "ro" &&
      !o.startsWith("subtype=")
    ),
  ].join(",");
  const type = options.subtype ? `fuse.${options.subtype}` : "fuse";
  const flags = MS_NOSUID | MS_NODEV | (options.readOnly ? MS_RDONLY : 0);
  const rc = c.mount(
    cstr(options.fsName ?? "fuse"),
    cstr(mountpoint),
    cstr(type),
    BigInt(flags),
    cstr(data),
  );
  if (rc !== 0) {
    const code = errno();
    c.close(fd);
    throw new MountError(
      `mount(2) of ${mountpoint} failed: ${strerror(code)}` +
        (code === Errno.EPERM ? "; mounting directly needs root, use the fusermount method" : ""),
      { errno: code },
    );
  }
  return { fd, mountpoint, method: "syscall", close: () => void c.close(fd) };
}

async function mountByFusermount(
  mountpoint: string,
  options: MountOptions,
): Promise<MountedChannel> {
  const c = libc();
  const pair = new Int32Array(2);
  check(
    "socketpair",
    c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, new Uint8Array(pair.buffer)),
  );
  const [ours, theirs] = pair;
  // Only fusermount3's end is inherited; ours stays close-on-exec, or children we
  // spawn would hold it open and fusermount3 would never see us die.
  check("fcntl", c.fcntl(theirs, F_SETFD, 0));
  const opts = [...mountOptionList(options), "auto_unmount"].join(",");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("fusermount3", {
      args: ["-o", opts, "--", mountpoint],
      env: { _FUSE_COMMFD: String(theirs) },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    c.close(ours);
    c.close(theirs);
    throw new MountError(`cannot run fusermount3 (${(e as Error).message}); install fuse3`, {
      cause: e,
    });
  }
  c.close(theirs);
  const stderr = collect(child.stderr);
  const fd = await receiveFd(ours);
  if (fd < 0) {
    c.close(ours);
    const status = await child.status;
    const text = (await stderr).trim();
    throw new MountError(
      `fusermount3 could not mount ${mountpoint} (exit ${status.code}): ${
        text || "no reason given"
      }`,
    );
  }
  // fusermount3 stays to unmount when `ours` closes; it must not keep us alive.
  child.unref();
  let closed = false;
  return {
    fd,
    mountpoint,
    method: "fusermount",
    close: () => {
      if (closed) return;
      closed = true;
      c.close(fd);
      c.close(ours);
    },
  };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  } catch {
    // The pipe closing early only shortens the message.
  }
  return text;
}

/** Receive one descriptor over a Unix socket (SCM_RIGHTS); -1 when the peer closed without one. */
async function receiveFd(sock: number): Promise<number> {
  const data = new Uint8Array(1);
  const control = new Uint8Array(24); // CMSG_SPACE(sizeof(int))
  const iov = new BigUint64Array([0n, 1n]);
  const iovBytes = new Uint8Array(iov.buffer);
  iov[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data)));
  const msg = new BigUint64Array(7); // struct msghdr on LP64
  msg[2] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(iovBytes)));
  msg[3] = 1n;
  msg[4] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(control)));
  msg[5] = BigInt(control.length);
  const n = Number(await libc().recvmsgAsync(sock, new Uint8Array(msg.buffer), MSG_CMSG_CLOEXEC));
  if (n <= 0) return -1;
  const cv = new DataView(control.buffer);
  const level = cv.getInt32(8, true), type = cv.getInt32(12, true);
  // SOL_SOCKET = 1, SCM_RIGHTS = 1
  if (msg[5] < 20n || level !== 1 || type !== 1) return -1;
  return cv.getInt32(16, true);
}

/**
 * Unmount `mountpoint`: umount2(2) as root, `fusermount3 -u` otherwise.
 * Rejects with {@linkcode MountBusyError} when busy (unless `lazy`).
 */
export async function unmountPath(mountpoint: string, options: UnmountOptions = {}): Promise<void> {
  if (Deno.uid() === 0) {
    const rc = libc().umount2(cstr(mountpoint), options.lazy ? MNT_DETACH : 0);
    if (rc === 0) return;
    const code = errno();
    if (code === Errno.EBUSY) throw new MountBusyError(mountpoint);
    throw new MountError(`cannot unmount ${mountpoint}: ${strerror(code)}`, { errno: code });
  }
  const out = await new Deno.Command("fusermount3", {
    args: ["-u", ...(options.lazy ? ["-z"] : []), "--", mountpoint],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.success) return;
  const text = new TextDecoder().decode(out.stderr).trim();
  if (/busy/i.test(text)) throw new MountBusyError(mountpoint);
  throw new MountError(`cannot unmount ${mountpoint}: ${text}`);
}

/** The mountinfo line fields of the mount at `path`, or undefined when nothing is mounted there. */
async function mountInfo(path: string): Promise<string[] | undefined> {
  const info = await Deno.readTextFile("/proc/self/mountinfo");
  const escaped = path.replace(
    /[ \t\n\\]/g,
    (ch) => `\\${ch.charCodeAt(0).toString(8).padStart(3, "0")}`,
  );
  return info.split("\n").map((line) => line.split(" ")).findLast((f) => f[4] === escaped);
}

/** Whether `path` is a mountpoint now (per /proc/self/mountinfo). */
export async function isMounted(path: string): Promise<boolean> {
  return (await mountInfo(path)) !== undefined;
}

/**
 * Raise the kernel readahead of the mount at `mountpoint` to `bytes` (FUSE
 * mounts start at 128 KiB whatever INIT says, which caps sequential reads at
 * 128 KiB requests). Needs root; false when it could not be set.
 */
export async function setReadahead(mountpoint: string, bytes: number): Promise<boolean> {
  const device = (await mountInfo(mountpoint))?.[2];
  if (!device) return false;
  try {
    await Deno.writeTextFile(
      `/sys/class/bdi/${device}/read_ahead_kb`,
      String(Math.floor(bytes / 1024)),
    );
    return true;
  } catch {
    return false;
  }
}
