/**
 * INIT: the structs, and the negotiation of protocol version, capabilities
 * and limits between what the kernel offers and what the session wants.
 *
 * @module
 */

import {
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  FUSE_MIN_MINOR_VERSION,
  FUSE_PASSTHROUGH_MINOR_VERSION,
  InitFlag,
  InitFlag2,
  MAX_STACK_DEPTH,
  PAGE_SIZE,
  Size,
} from "./abi.ts";
import type { BodyReader } from "./codec.ts";

/** The kernel's INIT request. */
export interface InitIn {
  /** Kernel protocol major. */
  major: number;
  /** Kernel protocol minor. */
  minor: number;
  /** Kernel's max readahead. */
  maxReadahead: number;
  /** Capabilities the kernel offers (low 32 bits). */
  flags: number;
  /** Capabilities the kernel offers (high 32 bits; 0 unless `flags` has INIT_EXT). */
  flags2: number;
}

/** Decode fuse_init_in (flags2 only exists when the kernel sets INIT_EXT and sent it). */
export function decodeInitIn(r: BodyReader): InitIn {
  const major = r.u32(), minor = r.u32(), maxReadahead = r.u32(), flags = r.u32();
  const ext = (flags & InitFlag.INIT_EXT) !== 0 && r.bytes.length >= r.pos + 4;
  return { major, minor, maxReadahead, flags, flags2: ext ? r.u32() : 0 };
}

/** What we answer to INIT. */
export interface InitOut {
  /** Our protocol major. */
  major: number;
  /** Negotiated minor. */
  minor: number;
  /** Max readahead. */
  maxReadahead: number;
  /** Capabilities we use (a subset of the kernel's). */
  flags: number;
  /** Max background requests. */
  maxBackground: number;
  /** Background requests at which the kernel reports congestion. */
  congestionThreshold: number;
  /** Max WRITE payload. */
  maxWrite: number;
  /** Timestamp granularity in ns. */
  timeGran: number;
  /** Max pages per request (with InitFlag.MAX_PAGES). */
  maxPages: number;
  /** High capability bits we use (sent only with InitFlag.INIT_EXT in `flags`). */
  flags2: number;
  /** Stacking depth of backing files plus one (with InitFlag2.PASSTHROUGH; else 0). */
  maxStackDepth: number;
}

/** Encode fuse_init_out. */
export function encodeInitOut(o: InitOut): Uint8Array {
  const out = new Uint8Array(Size.INIT_OUT);
  const v = new DataView(out.buffer);
  v.setUint32(0, o.major, true);
  v.setUint32(4, o.minor, true);
  v.setUint32(8, o.maxReadahead, true);
  v.setUint32(12, o.flags, true);
  v.setUint16(16, o.maxBackground, true);
  v.setUint16(18, o.congestionThreshold, true);
  v.setUint32(20, o.maxWrite, true);
  v.setUint32(24, o.timeGran, true);
  v.setUint16(28, (o.flags & InitFlag.MAX_PAGES) ? o.maxPages : 0, true);
  v.setUint32(32, o.flags2, true);
  v.setUint32(36, o.maxStackDepth, true);
  return out;
}

/** Decode fuse_init_out (for tests). */
export function decodeInitOut(bytes: Uint8Array): InitOut {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    major: v.getUint32(0, true),
    minor: v.getUint32(4, true),
    maxReadahead: v.getUint32(8, true),
    flags: v.getUint32(12, true),
    maxBackground: v.getUint16(16, true),
    congestionThreshold: v.getUint16(18, true),
    maxWrite: v.getUint32(20, true),
    timeGran: v.getUint32(24, true),
    maxPages: v.getUint16(28, true),
    flags2: v.getUint32(32, true),
    maxStackDepth: v.getUint32(36, true),
  };
}

/** What the session wants from INIT. */
export interface InitWants {
  /** Largest WRITE payload wanted (already clamped to 4 KiB..1 MiB). */
  maxWrite: number;
  /** Readahead wanted. */
  maxReadahead: number;
  /** Max background requests. */
  maxBackground: number;
  /** Ask for READDIRPLUS. */
  readdirplus: boolean;
  /**
   * Ask for passthrough with this max_stack_depth (1: backing files on a plain
   * file system; 2: also on overlayfs, but then nothing can stack on the mount);
   * 0: do not ask.
   */
  passthroughStackDepth: number;
}

/**
 * Capabilities asked for when the kernel offers them. WRITEBACK_CACHE stays
 * off, so a write reaches the file system before write(2) returns.
 */
const WANTED_FLAGS = InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.BIG_WRITES |
  InitFlag.AUTO_INVAL_DATA | InitFlag.PARALLEL_DIROPS | InitFlag.MAX_PAGES;

/**
 * The answer to the kernel's INIT: "retry" with our major when the kernel's is
 * newer, "too old" below 7.23, else what both sides agree on.
 */
export function negotiateInit(kernel: InitIn, wants: InitWants): InitOut | "retry" | "too old" {
  if (kernel.major > FUSE_KERNEL_VERSION) return "retry";
  if (kernel.major < FUSE_KERNEL_VERSION || kernel.minor < FUSE_MIN_MINOR_VERSION) {
    return "too old";
  }
  const plus = wants.readdirplus ? InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO : 0;
  const passthrough = wants.passthroughStackDepth > 0 &&
    kernel.minor >= FUSE_PASSTHROUGH_MINOR_VERSION && (kernel.flags & InitFlag.INIT_EXT) !== 0 &&
    (kernel.flags2 & InitFlag2.PASSTHROUGH) !== 0;
  const flags = (kernel.flags & (WANTED_FLAGS | plus)) | (passthrough ? InitFlag.INIT_EXT : 0);
  const maxWrite = flags & InitFlag.MAX_PAGES
    ? wants.maxWrite
    : Math.min(wants.maxWrite, 32 * PAGE_SIZE);
  return {
    major: FUSE_KERNEL_VERSION,
    minor: Math.min(kernel.minor, FUSE_KERNEL_MINOR_VERSION),
    maxReadahead: Math.min(kernel.maxReadahead, wants.maxReadahead),
    flags,
    maxBackground: wants.maxBackground,
    congestionThreshold: Math.max(1, Math.floor((wants.maxBackground * 3) / 4)),
    maxWrite,
    timeGran: 1,
    maxPages: Math.ceil(maxWrite / PAGE_SIZE),
    flags2: passthrough ? InitFlag2.PASSTHROUGH : 0,
    maxStackDepth: passthrough ? Math.min(MAX_STACK_DEPTH, wants.passthroughStackDepth) : 0,
  };
}

/** The INIT reply that asks the kernel to retry with protocol major 7. */
export const RETRY_INIT_OUT: InitOut = {
  major: FUSE_KERNEL_VERSION,
  minor: FUSE_KERNEL_MINOR_VERSION,
  maxReadahead: 0,
  flags: 0,
  maxBackground: 0,
  congestionThreshold: 0,
  maxWrite: 0,
  timeGran: 0,
  maxPages: 0,
  flags2: 0,
  maxStackDepth: 0,
};
