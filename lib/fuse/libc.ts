/**
 * The thin libc layer FUSE needs, through Deno FFI: the /dev/fuse channel's
 * read/write/writev, mount(2)/umount2(2), and the socket calls that receive
 * the channel from `fusermount3`, and the /dev/fuse ioctls. Linux x86_64/arm64 with glibc.
 *
 * Blocking calls that may wait on the kernel (channel reads, notifications,
 * recvmsg) use `nonblocking` symbols, which run on a thread pool and return
 * promises, so the event loop stays free. Their errno is lost (it lives on
 * that thread), which the callers are written around.
 *
 * @module
 */

/** open(2) and fcntl(2) constants. */
export const O_RDWR = 0o2;
/** Open read-only. */
export const O_RDONLY = 0;
/** Close the descriptor on exec. */
export const O_CLOEXEC = 0o2000000;
/** AF_UNIX. */
export const AF_UNIX = 1;
/** SOCK_STREAM. */
export const SOCK_STREAM = 1;
/** SOCK_CLOEXEC. */
export const SOCK_CLOEXEC = 0o2000000;
/** recvmsg flag: mark received descriptors close-on-exec. */
export const MSG_CMSG_CLOEXEC = 0x40000000;
/** fcntl F_SETFD. */
export const F_SETFD = 2;
/** mount(2) flags. */
export const MS_RDONLY = 1;
/** mount(2): no set-uid binaries. */
export const MS_NOSUID = 2;
/** mount(2): no device nodes. */
export const MS_NODEV = 4;
/** umount2(2): detach now, clean up when no longer busy. */
export const MNT_DETACH = 2;
/** poll(2) events. */
export const POLLIN = 1;
/** poll(2): error condition (a FUSE connection that was aborted or unmounted). */
export const POLLERR = 8;

const symbols = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  writev: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  readAsync: {
    name: "read",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  writeAsync: {
    name: "write",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  recvmsgAsync: {
    name: "recvmsg",
    parameters: ["i32", "buffer", "i32"],
    result: "isize",
    nonblocking: true,
  },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

let lib: Deno.DynamicLibrary<typeof symbols> | undefined;

/** libc, loaded on first use. */
export function libc(): Libc {
  lib ??= Deno.dlopen("libc.so.6", symbols);
  return lib.symbols;
}

/** errno of the last synchronous libc call on this thread. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** strerror(3) text of an errno. */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

/** `s` as a NUL-terminated C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/** Address of a buffer's first byte, for building iovecs. */
export function addressOf(bytes: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>)));
}

/** Whether the descriptor reports POLLERR now: a FUSE channel does once the connection is gone. */
export function hasPollError(fd: number): boolean {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, POLLIN, true);
  const n = libc().poll(pfd, 1n, 0);
  return n > 0 && (v.getInt16(6, true) & POLLERR) !== 0;
}

/** An error from a libc call, with its errno. */
export class LibcError extends Error {
  /** Make an error for `call` failing with `code`. */
  constructor(readonly call: string, readonly code: number) {
    super(`${call}: ${strerror(code)}`);
    this.name = "LibcError";
  }
}

/** Run a synchronous libc call; throw a LibcError with its errno when it returns -1. */
export function check(call: string, result: number | bigint): number {
  const n = Number(result);
  if (n < 0) throw new LibcError(call, errno());
  return n;
}
