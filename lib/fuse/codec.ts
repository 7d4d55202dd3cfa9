/**
 * Encoding and decoding of FUSE protocol structs (little-endian, 64-bit
 * fields as JavaScript numbers, names NUL-terminated UTF-8).
 *
 * @module
 */

import { FSYNC_FDATASYNC, GETATTR_FH, OpenFlag, SetattrValid, Size } from "./abi.ts";
import type {
  Attr,
  AttrReply,
  AttrTime,
  EntryReply,
  NegativeEntryReply,
  OpenReply,
  SetAttrChanges,
  StatfsReply,
  Timespec,
} from "./ops.ts";

const TWO_32 = 4294967296;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Little-endian reader over a request body. */
export class BodyReader {
  /** Position of the next unread byte. */
  pos = 0;
  private readonly view: DataView;

  /** Read from `bytes` (the request without its in header). */
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Next unsigned 64-bit integer (exact up to 2^53). */
  u64(): number {
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** Next signed 64-bit integer. */
  i64(): number {
    const v = Number(this.view.getBigInt64(this.pos, true));
    this.pos += 8;
    return v;
  }

  /** Skip `n` bytes. */
  skip(n: number): void {
    this.pos += n;
  }

  /** Next NUL-terminated UTF-8 string (the rest when no NUL follows). */
  cstring(): string {
    let end = this.bytes.indexOf(0, this.pos);
    if (end < 0) end = this.bytes.length;
    const s = utf8Decoder.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  /** Next `n` bytes, a view (copy it if it must outlive the request buffer). */
  bytesView(n: number): Uint8Array {
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/** The fixed header of every request. */
export interface InHeader {
  /** Total request length including this header. */
  len: number;
  /** Operation. */
  opcode: number;
  /** Request id. */
  unique: number;
  /** Inode the request is about. */
  nodeid: number;
  /** Caller uid. */
  uid: number;
  /** Caller gid. */
  gid: number;
  /** Caller pid. */
  pid: number;
}

/** Decode the in header at the start of `buf`. */
export function decodeInHeader(buf: Uint8Array): InHeader {
  const r = new BodyReader(buf);
  const len = r.u32();
  const opcode = r.u32();
  const unique = r.u64();
  const nodeid = r.u64();
  return { len, opcode, unique, nodeid, uid: r.u32(), gid: r.u32(), pid: r.u32() };
}

/** Encode an in header (the kernel's side; for tests). */
export function encodeInHeader(h: InHeader): Uint8Array {
  const out = new Uint8Array(Size.IN_HEADER);
  const v = new DataView(out.buffer);
  v.setUint32(0, h.len, true);
  v.setUint32(4, h.opcode, true);
  setU64(v, 8, h.unique);
  setU64(v, 16, h.nodeid);
  v.setUint32(24, h.uid, true);
  v.setUint32(28, h.gid, true);
  v.setUint32(32, h.pid, true);
  return out;
}

/** Encode an out header for a reply of `len` bytes in total; `error` is a negative errno or 0. */
export function encodeOutHeader(len: number, error: number, unique: number): Uint8Array {
  const out = new Uint8Array(Size.OUT_HEADER);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setInt32(4, error, true);
  setU64(v, 8, unique);
  return out;
}

/** Write a u64 (given as a number up to 2^53) at `at`. */
export function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n % TWO_32, true);
  v.setUint32(at + 4, Math.floor(n / TWO_32), true);
}

function setI64(v: DataView, at: number, n: number): void {
  v.setBigInt64(at, BigInt(Math.trunc(n)), true);
}

/** Split a time in ms (or a Timespec) into seconds and nanoseconds. */
export function toTimespec(t: AttrTime): Timespec {
  if (typeof t !== "number") return t;
  const sec = Math.floor(t / 1000);
  const nsec = Math.min(999_999_999, Math.round((t - sec * 1000) * 1e6));
  return { sec, nsec };
}

/** Milliseconds since the epoch of a Timespec. */
export function timespecToMs(t: Timespec): number {
  return t.sec * 1000 + t.nsec / 1e6;
}

function setTimeout64(v: DataView, secAt: number, nsecAt: number, ms: number): void {
  const t = toTimespec(Math.max(0, ms));
  setU64(v, secAt, t.sec);
  v.setUint32(nsecAt, t.nsec, true);
}

function encodeAttrAt(v: DataView, at: number, a: Attr): void {
  setU64(v, at, a.ino);
  setU64(v, at + 8, a.size);
  setU64(v, at + 16, a.blocks ?? Math.ceil(a.size / 512));
  const times = [a.atime, a.mtime, a.ctime].map(toTimespec);
  for (let i = 0; i < 3; i++) {
    setI64(v, at + 24 + 8 * i, times[i].sec);
    v.setUint32(at + 48 + 4 * i, times[i].nsec, true);
  }
  v.setUint32(at + 60, a.mode, true);
  v.setUint32(at + 64, a.nlink, true);
  v.setUint32(at + 68, a.uid, true);
  v.setUint32(at + 72, a.gid, true);
  v.setUint32(at + 76, a.rdev ?? 0, true);
  v.setUint32(at + 80, a.blksize ?? 4096, true);
  v.setUint32(at + 84, 0, true);
}

/** Decode a fuse_attr at `at` (for tests and symmetry). */
export function decodeAttr(bytes: Uint8Array, at = 0): Attr {
  const r = new BodyReader(bytes);
  r.pos = at;
  const ino = r.u64(), size = r.u64(), blocks = r.u64();
  const secs = [r.i64(), r.i64(), r.i64()];
  const nsecs = [r.u32(), r.u32(), r.u32()];
  const [atime, mtime, ctime] = secs.map((sec, i) => ({ sec, nsec: nsecs[i] }));
  const mode = r.u32(), nlink = r.u32(), uid = r.u32(), gid = r.u32(), rdev = r.u32();
  return { ino, size, blocks, atime, mtime, ctime, mode, nlink, uid, gid, rdev, blksize: r.u32() };
}

/** fuse_entry_out for a positive or negative lookup answer. */
export function encodeEntryOut(e: EntryReply | NegativeEntryReply): Uint8Array {
  const out = new Uint8Array(Size.ENTRY_OUT);
  encodeEntryOutAt(new DataView(out.buffer), 0, e);
  return out;
}

/** Write a fuse_entry_out at `at` (a negative answer has node id 0). */
export function encodeEntryOutAt(
  v: DataView,
  at: number,
  e: EntryReply | NegativeEntryReply,
): void {
  if ("negative" in e) {
    setTimeout64(v, at + 16, at + 32, e.entryTtlMs);
    return;
  }
  setU64(v, at, e.attr.ino);
  setU64(v, at + 8, e.generation ?? 0);
  setTimeout64(v, at + 16, at + 32, e.entryTtlMs);
  setTimeout64(v, at + 24, at + 36, e.attrTtlMs);
  encodeAttrAt(v, at + 40, e.attr);
}

/** fuse_attr_out. */
export function encodeAttrOut(a: AttrReply): Uint8Array {
  const out = new Uint8Array(Size.ATTR_OUT);
  const v = new DataView(out.buffer);
  setTimeout64(v, 0, 8, a.ttlMs);
  encodeAttrAt(v, 16, a.attr);
  return out;
}

/** fuse_open_out (backing_id only with passthrough). */
export function encodeOpenOut(o: OpenReply): Uint8Array {
  const out = new Uint8Array(Size.OPEN_OUT);
  const v = new DataView(out.buffer);
  setU64(v, 0, o.fh);
  if (o.passthrough) {
    // The kernel refuses a passthrough open with any caching flag (KEEP_CACHE ...).
    v.setUint32(8, OpenFlag.PASSTHROUGH, true);
    v.setInt32(12, o.passthrough.backingId, true);
    return out;
  }
  const flags = (o.directIo ? OpenFlag.DIRECT_IO : 0) | (o.keepCache ? OpenFlag.KEEP_CACHE : 0) |
    (o.nonSeekable ? OpenFlag.NONSEEKABLE : 0) | (o.cacheDir ? OpenFlag.CACHE_DIR : 0);
  v.setUint32(8, flags, true);
  return out;
}

/** A struct holding one u32 then padding (fuse_write_out, fuse_getxattr_out). */
export function encodeU32Out(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** fuse_statfs_out. */
export function encodeStatfsOut(s: StatfsReply): Uint8Array {
  const out = new Uint8Array(Size.STATFS_OUT);
  const v = new DataView(out.buffer);
  [s.blocks, s.bfree, s.bavail, s.files, s.ffree].forEach((n, i) => setU64(v, i * 8, n));
  v.setUint32(40, s.bsize, true);
  v.setUint32(44, s.namelen, true);
  v.setUint32(48, s.frsize ?? s.bsize, true);
  return out;
}

/** Decode fuse_setattr_in into the changes it asks for. */
export function decodeSetattrIn(r: BodyReader): SetAttrChanges {
  const valid = r.u32();
  r.skip(4);
  const fh = r.u64(), size = r.u64();
  r.skip(8); // lock_owner
  const atime = r.i64(), mtime = r.i64(), ctime = r.i64();
  const atimensec = r.u32(), mtimensec = r.u32(), ctimensec = r.u32();
  const mode = r.u32();
  r.skip(4);
  const uid = r.u32(), gid = r.u32();
  const c: SetAttrChanges = {};
  if (valid & SetattrValid.MODE) c.mode = mode;
  if (valid & SetattrValid.UID) c.uid = uid;
  if (valid & SetattrValid.GID) c.gid = gid;
  if (valid & SetattrValid.SIZE) c.size = size;
  if (valid & SetattrValid.ATIME_NOW) c.atime = "now";
  else if (valid & SetattrValid.ATIME) c.atime = { sec: atime, nsec: atimensec };
  if (valid & SetattrValid.MTIME_NOW) c.mtime = "now";
  else if (valid & SetattrValid.MTIME) c.mtime = { sec: mtime, nsec: mtimensec };
  if (valid & SetattrValid.CTIME) c.ctime = { sec: ctime, nsec: ctimensec };
  if (valid & SetattrValid.FH) c.fh = fh;
  return c;
}

/** Decode fuse_getattr_in: the fh when the request came through an open file. */
export function decodeGetattrIn(r: BodyReader): number | undefined {
  const flags = r.u32();
  r.skip(4);
  const fh = r.u64();
  return flags & GETATTR_FH ? fh : undefined;
}

/** Decode fuse_fsync_in: [fh, datasync]. */
export function decodeFsyncIn(r: BodyReader): [number, boolean] {
  const fh = r.u64();
  return [fh, (r.u32() & FSYNC_FDATASYNC) !== 0];
}

/** UTF-8 bytes of `s` followed by a NUL. */
export function cstringBytes(s: string): Uint8Array {
  const b = utf8.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Notification body for INVAL_INODE. */
export function encodeInvalInode(ino: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(Size.NOTIFY_INVAL_INODE_OUT);
  const v = new DataView(out.buffer);
  setU64(v, 0, ino);
  setI64(v, 8, offset);
  setI64(v, 16, length);
  return out;
}

/** Notification body for INVAL_ENTRY (`child` undefined) or DELETE. */
export function encodeEntryNotify(parent: number, name: string, child?: number): Uint8Array {
  const nameBytes = cstringBytes(name);
  const head = child === undefined ? Size.NOTIFY_INVAL_ENTRY_OUT : Size.NOTIFY_DELETE_OUT;
  const out = new Uint8Array(head + nameBytes.length);
  const v = new DataView(out.buffer);
  setU64(v, 0, parent);
  if (child === undefined) {
    v.setUint32(8, nameBytes.length - 1, true);
  } else {
    setU64(v, 8, child);
    v.setUint32(16, nameBytes.length - 1, true);
  }
  out.set(nameBytes, head);
  return out;
}
